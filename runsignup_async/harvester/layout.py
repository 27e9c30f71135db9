"""Where a harvested photo lands, in a directory or a bucket: the only module that turns
API data into paths and object keys.

``dest/<race_id>/<race_event_days_id>/<album_id>/<photo_id>-<size>.<ext>``. Every part
comes from an id the API sent (checked to be a plain integer or a tame album token) and
a fixed size name; the extension comes from the image URL only if it is a known short
image suffix. The server's ``uploaded_filename`` never reaches this module: it is
metadata, so no server value can steer a write outside ``dest``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final
from urllib.parse import unquote

from ..errors import ValidationError

__all__ = [
    "MANIFEST_NAME",
    "SIZES",
    "Layout",
    "album_component",
    "check_sizes",
    "extension_of",
    "is_temp_name",
    "photo_key",
    "temp_path",
    "temp_sibling",
]

SIZES: Final = ("original", "large", "thumbnail")


def check_sizes(sizes: Sequence[str] | str) -> tuple[str, ...]:
    """The sizes to fetch, each once, in order; ``"original,large"`` or a sequence."""
    if isinstance(sizes, str):
        sizes = sizes.split(",")
    chosen = tuple(dict.fromkeys(s.strip() for s in sizes if s.strip()))
    bad = [s for s in chosen if s not in SIZES]
    if not chosen or bad:
        raise ValidationError("sizes", f"choose among {', '.join(SIZES)}; got {list(sizes)!r}")
    return chosen


MANIFEST_NAME: Final = "manifest.sqlite3"
_EXTENSIONS: Final = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp"})
_DEFAULT_EXTENSION: Final = ".jpg"
_TAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_TEMP: Final = re.compile(r"\..+\.[0-9a-f]{12}\.part")


def _plain_id(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def album_component(album_id: int | str) -> str:
    """The directory name of an album: its integer id, or a tame token such as ``reg-6827``.

    Any other string is reduced to safe characters plus a short hash of the original, so
    two odd ids never share a directory and none can be ``..`` or contain a separator.
    """
    if isinstance(album_id, int) and not isinstance(album_id, bool):
        return str(_plain_id("album_id", album_id))
    text = str(album_id)
    if _TAME.fullmatch(text):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")[:40] or "album"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{cleaned}-{digest}"


def extension_of(url: str) -> str:
    """The image URL path's suffix if it is a known image extension, else ``.jpg``."""
    # The last path segment, without query or fragment (cheaper than urlsplit, and the
    # answer can only ever be one of _EXTENSIONS).
    end = len(url)
    for mark in "?#":
        found = url.find(mark, 0, end)
        if found != -1:
            end = found
    name = url[url.rfind("/", 0, end) + 1 : end]
    if "%" in name:
        name = unquote(name).rpartition("/")[2]
    dot = name.rfind(".")
    suffix = name[dot:].lower() if dot > 0 else ""
    return suffix if suffix in _EXTENSIONS else _DEFAULT_EXTENSION


def _file_name(photo_id: int, size: str, url: str) -> str:
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    return f"{_plain_id('photo_id', photo_id)}-{size}{extension_of(url)}"


def photo_key(
    *,
    race_id: int,
    race_event_days_id: int,
    album_id: int | str,
    photo_id: int,
    size: str,
    url: str,
) -> str:
    """``<race_id>/<race_event_days_id>/<album>/<photo_id>-<size>.<ext>``: where one size of
    one photo lands under any sink's root ('/'-separated; no part can be ``..`` or empty)."""
    race = _plain_id("race_id", race_id)
    day = _plain_id("race_event_days_id", race_event_days_id)
    return f"{race}/{day}/{album_component(album_id)}/{_file_name(photo_id, size, url)}"


class Layout:
    """The local paths of ``photo_key``s under one destination directory."""

    def __init__(self, dest: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(dest)

    def path_of(self, key: str) -> str:
        """The path of ``key`` under ``dest``, refused if it were not strictly inside."""
        path = os.path.normpath(os.path.join(self.root, *key.split("/")))
        # Belt and braces: photo_key's parts cannot escape, and this proves it for each key.
        if os.path.commonpath([self.root, path]) != self.root or path == self.root:
            raise ValueError(f"refusing a path outside the destination: {path}")
        return path


def temp_path(final: Path, token: str) -> Path:
    """The hidden temporary sibling a download is written to before its rename."""
    return Path(temp_sibling(str(final), token))


def temp_sibling(final: str, token: str) -> str:
    """``temp_path`` of a path given as a string (no Path objects on the hot path)."""
    head, sep, name = final.rpartition(os.sep)
    return f"{head}{sep}.{name}.{token}.part"


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of ``temp_path``'s (left behind by a killed run)."""
    return _TEMP.fullmatch(name) is not None
