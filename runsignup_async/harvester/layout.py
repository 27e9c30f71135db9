"""Where a harvested photo lands on disk: the only module that turns API data into paths.

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


class Layout:
    """The final paths under one destination; each photo directory is built and checked
    once, as harvests of thousands of photos per album ask for it again and again."""

    def __init__(self, dest: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(dest)
        self._directories: dict[tuple[int, int, int | str, type], str] = {}

    def directory(self, race_id: int, race_event_days_id: int, album_id: int | str) -> str:
        """``<dest>/<race_id>/<race_event_days_id>/<album>``, strictly inside ``dest``."""
        _plain_id("race_id", race_id)
        _plain_id("race_event_days_id", race_event_days_id)
        key = (race_id, race_event_days_id, album_id, album_id.__class__)
        found = self._directories.get(key)
        if found is None:
            found = os.path.join(
                self.root, str(race_id), str(race_event_days_id), album_component(album_id)
            )
            # Belt and braces: the parts cannot escape, and this proves it for each one.
            if os.path.commonpath([self.root, found]) != self.root or found == self.root:
                raise ValueError(f"refusing a path outside the destination: {found}")
            self._directories[key] = found
        return found

    def path(
        self,
        *,
        race_id: int,
        race_event_days_id: int,
        album_id: int | str,
        photo_id: int,
        size: str,
        url: str,
    ) -> str:
        """The final path of one size of one photo, always strictly inside ``dest``."""
        if size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {size!r}")
        name = f"{_plain_id('photo_id', photo_id)}-{size}{extension_of(url)}"
        return f"{self.directory(race_id, race_event_days_id, album_id)}{os.sep}{name}"


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
