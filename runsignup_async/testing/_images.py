"""Deterministic fake JPEG bytes, produced in chunks so a 50 MB image never sits in memory.

An image is ``FF D8 FF E0`` (SOI and an APP0 marker), filler, then ``FF D9`` (EOI). The
filler repeats a block of seeded random bytes, so any chunk can be computed from its offset
and a test can recompute the whole image with ``image_bytes``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from typing import Final

__all__ = ["IMAGE_SIZES", "image_bytes", "image_chunks"]

IMAGE_SIZES: Final = ("original", "thumbnail", "large")
DEFAULT_LENGTHS: Final = {"thumbnail": 2_048, "large": 8_192, "original": 20_480}
_HEAD: Final = b"\xff\xd8\xff\xe0"
_TAIL: Final = b"\xff\xd9"
MIN_LENGTH: Final = len(_HEAD) + len(_TAIL)
_BLOCK: Final = 65_536
CHUNK: Final = 262_144


def _block(seed: int, photo_id: int, size: str) -> bytes:
    digest = hashlib.sha256(f"{seed}:{photo_id}:{size}".encode()).digest()
    # Never 0xFF, so the filler contains no stray JPEG marker that could look like an EOI.
    raw = random.Random(digest).randbytes(_BLOCK)
    return raw.replace(b"\xff", b"\xfe")


def image_chunks(
    seed: int, photo_id: int, size: str, length: int, chunk: int = CHUNK
) -> Iterator[bytes]:
    """The image's bytes in pieces of at most ``chunk`` bytes; ``length`` bytes in all."""
    length = max(length, MIN_LENGTH)
    block = _block(seed, photo_id, size)
    filler = length - MIN_LENGTH
    yield _HEAD
    offset = 0
    while offset < filler:
        take = min(chunk, filler - offset)
        start = offset % _BLOCK
        piece = bytearray()
        while len(piece) < take:
            piece += block[start : start + take - len(piece)]
            start = 0
        yield bytes(piece)
        offset += take
    yield _TAIL


def image_bytes(seed: int, photo_id: int, size: str, length: int) -> bytes:
    """The whole image; what the image origin serves for ``/images/<photo_id>-<size>.jpg``."""
    return b"".join(image_chunks(seed, photo_id, size, length))
