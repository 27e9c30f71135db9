"""Streaming one image to disk atomically.

The bytes go to a hidden temporary sibling of the final path (``layout.temp_path``),
chunk by chunk, so memory stays flat whatever the image size. The file is renamed to its
final name only after its length matched the server's Content-Length, it was fsynced,
and then its directory is fsynced so the rename survives a power cut. On any failure or
cancellation the temporary file is removed: a file under a final name is always whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import IO, TYPE_CHECKING

import attrs

from ..errors import RunSignupError
from .layout import is_temp_name, temp_path

if TYPE_CHECKING:
    from .._client import Client

__all__ = ["DownloadError", "Downloaded", "remove_stale_temps", "save_atomically"]


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


def _fsync_dir(directory: Path) -> None:
    # Directories cannot be opened for fsync on Windows; the rename is durable enough there.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(handle: IO[bytes], tmp: Path, final: Path) -> None:
    """Flush, fsync, close, rename into place, fsync the directory (runs in a thread)."""
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(tmp, final)
    _fsync_dir(final.parent)


async def save_atomically(client: Client, url: str, final: Path) -> Downloaded:
    """Download ``url`` to ``final``; the file appears under that name complete or not at all."""
    tmp = temp_path(final, secrets.token_hex(6))
    # A local create is fast; only the fsync is worth a thread. Closed by _commit or below.
    handle = open(tmp, "xb")  # noqa: ASYNC230, SIM115
    commit: asyncio.Future[None] | None = None
    try:
        digest = hashlib.sha256()
        count = 0
        async with client.download(url) as response:
            expected = response.content_length
            async for chunk in response.chunks:
                handle.write(chunk)
                digest.update(chunk)
                count += len(chunk)
                if expected is not None and count > expected:
                    break
        if expected is not None and count != expected:
            raise DownloadError(f"image arrived with {count} bytes, Content-Length said {expected}")
        # Shielded: once the thread renames, cancelling the await must not race the
        # cleanup below into deleting a temp file that is already the final file.
        commit = asyncio.ensure_future(asyncio.to_thread(_commit, handle, tmp, final))
        await asyncio.shield(commit)
        return Downloaded(nbytes=count, sha256=digest.hexdigest())
    except BaseException:
        if commit is not None and not commit.done():
            # Let the thread finish what it started before cleaning up after it.
            with contextlib.suppress(BaseException):
                await asyncio.wait([commit])
        if commit is not None and commit.done() and not commit.cancelled():
            commit.exception()  # retrieved: the error being raised already says enough
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
