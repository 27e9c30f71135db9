"""Where a harvest keeps what it downloads: one interface (``Sink``), two destinations.

``sink_for(dest)``: ``s3://BUCKET/PREFIX`` is an ``S3Sink`` (the ``s3`` extra), anything
else a local ``DirectorySink``.
"""

from __future__ import annotations

import os

from ._base import Body, FileRef, Sink, image_identity
from .directory import DirectorySink
from .s3 import S3Sink, StoreError

__all__ = [
    "Body",
    "DirectorySink",
    "FileRef",
    "S3Sink",
    "Sink",
    "StoreError",
    "image_identity",
    "is_s3",
    "sink_for",
]


def is_s3(dest: str | os.PathLike[str]) -> bool:
    return isinstance(dest, str) and dest.startswith("s3://")


def sink_for(
    dest: str | os.PathLike[str], *, s3_endpoint: str | None = None, shared: bool = False
) -> Sink:
    """The sink of ``dest``: a bucket for ``s3://BUCKET/PREFIX``, else a local directory
    (``shared``: one of several queue workers writing to it at once)."""
    if is_s3(dest):
        assert isinstance(dest, str)
        return S3Sink(dest, endpoint=s3_endpoint)
    return DirectorySink(dest, shared=shared)
