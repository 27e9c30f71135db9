"""Temporary siblings: where an image is written before its rename to its final name.

Hidden (``layout.temp_sibling``), created exclusively, and recognised later
(``layout.is_temp_name``) so that a killed run's leftovers are cleared by the next run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
from pathlib import Path
from typing import Final

from .layout import is_temp_name, temp_sibling

__all__ = ["TempFile", "remove_stale_temps"]

_BINARY: Final = getattr(os, "O_BINARY", 0)
_CREATE: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY
# Temporary file names: unique within the process by the counter, and from a random
# start so that a killed run's leftovers are unlikely to be met (O_EXCL refuses them).
_TOKEN_MASK: Final = (1 << 48) - 1
_TOKENS: Final = itertools.count(secrets.randbits(48))


def remove_stale_temps(directory: Path) -> int:
    """Delete temporary files a killed run left in ``directory``; returns how many."""
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if is_temp_name(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
    return removed


class TempFile:
    """The temporary sibling of one final path. Its methods run in a worker thread, one
    at a time (the caller awaits each before the next)."""

    def __init__(self, final: str) -> None:
        self.final = final
        self.tmp = temp_sibling(final, f"{next(_TOKENS) & _TOKEN_MASK:012x}")
        self.fd: int | None = None

    def write(self, chunks: list[bytes]) -> None:
        if self.fd is None:
            self.fd = os.open(self.tmp, _CREATE, 0o644)
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(self.fd, view) :]

    def finish(self, chunks: list[bytes], durable: bool, *, fsync: bool = False) -> None:
        """Write the rest and close; if ``durable``, fsync first and rename into place
        (``fsync``: fsync without the rename)."""
        self.write(chunks)
        fd, self.fd = self.fd, None
        assert fd is not None
        try:
            if durable or fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        if durable:
            os.replace(self.tmp, self.final)

    def discard(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)
