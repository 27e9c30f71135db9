"""Streaming one image to disk atomically.

The bytes go to a hidden temporary sibling of the final path (``layout.temp_sibling``).
Every file system call runs in a worker thread, never on the event loop: creating a file
alone can cost a millisecond of kernel time, and the loop has downloads to serve. Chunks
are gathered up to ``FLUSH_BYTES`` and written in one thread call, so a small image
costs a single call (create, write, fsync, close, rename) and memory stays bounded
whatever the image size. The file is renamed to its final name only after its length
matched the server's Content-Length and it was fsynced.
Its directory is fsynced afterwards, once for a batch of renames (``fsync_dirs``, called by
the harvest's committer), so the rename survives a power cut; only then is the file
recorded as done. On any failure or cancellation the temporary file is removed: a file
under a final name is always whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final

import attrs

from ..errors import RunSignupError
from .layout import is_temp_name, temp_sibling

if TYPE_CHECKING:
    from .._client import Client

__all__ = ["DownloadError", "Downloaded", "fsync_dirs", "remove_stale_temps", "save_atomically"]

_BINARY: Final = getattr(os, "O_BINARY", 0)
_CREATE: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY
# Bytes gathered in memory before a thread writes them: one call for a typical image,
# a bounded buffer per download for a huge one.
FLUSH_BYTES: Final = 1024 * 1024


class DownloadError(RunSignupError):
    """An image arrived incomplete (fewer or more bytes than its Content-Length)."""


@attrs.frozen
class Downloaded:
    nbytes: int
    sha256: str


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


def fsync_dirs(directories: Iterable[str]) -> None:
    """fsync each directory, making the renames done in it durable (runs in a thread)."""
    # Directories cannot be opened for fsync on Windows; the rename is durable enough there.
    if os.name != "posix":
        return
    for directory in directories:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _TempFile:
    """The temporary sibling of one final path. Its methods run in a worker thread, one
    at a time (the caller awaits each before the next)."""

    def __init__(self, final: str) -> None:
        self.final = final
        self.tmp = temp_sibling(final, secrets.token_hex(6))
        self.fd: int | None = None
        self.digest = hashlib.sha256()  # hashlib releases the GIL on large buffers

    def write(self, chunks: list[bytes]) -> None:
        if self.fd is None:
            self.fd = os.open(self.tmp, _CREATE, 0o644)
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(self.fd, view) :]
            self.digest.update(chunk)

    def commit(self, chunks: list[bytes]) -> None:
        """Write the rest, fsync, close, rename into place. The caller fsyncs the directory."""
        self.write(chunks)
        fd, self.fd = self.fd, None
        assert fd is not None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.tmp, self.final)

    def discard(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


async def save_atomically(client: Client, url: str, final: str) -> Downloaded:
    """Download ``url`` to ``final``; the file appears under that name complete or not at all.

    On return the file is fsynced and renamed, but the rename is durable only once the
    caller has fsynced the directory (``fsync_dirs``, batched over many files).
    """
    temp = _TempFile(final)
    pending: list[bytes] = []
    buffered = count = 0
    work: asyncio.Future[None] | None = None
    try:
        async with client.download(url) as response:
            expected = response.content_length
            async for chunk in response.chunks:
                pending.append(chunk)
                buffered += len(chunk)
                count += len(chunk)
                if expected is not None and count > expected:
                    break
                if buffered >= FLUSH_BYTES:
                    work = asyncio.ensure_future(asyncio.to_thread(temp.write, pending))
                    await work
                    pending, buffered = [], 0
        if expected is not None and count != expected:
            raise DownloadError(f"image arrived with {count} bytes, Content-Length said {expected}")
        # Shielded: once the thread renames, cancelling the await must not race the
        # cleanup below into deleting a temp file that is already the final file.
        work = asyncio.ensure_future(asyncio.to_thread(temp.commit, pending))
        await asyncio.shield(work)
        return Downloaded(nbytes=count, sha256=temp.digest.hexdigest())
    except BaseException:
        if work is not None and not work.done():
            # Let the thread finish what it started before cleaning up after it.
            with contextlib.suppress(BaseException):
                await asyncio.wait([work])
        if work is not None and work.done() and not work.cancelled():
            work.exception()  # retrieved: the error being raised already says enough
        # Safe even after a rename: the temp name is gone then, and its fd closed.
        temp.discard()
        raise
