"""Streaming one image to disk atomically.

The bytes go to a hidden temporary sibling of the final path (``layout.temp_sibling``).
Chunks are gathered up to ``FLUSH_BYTES`` and written in one worker-thread call, so
memory stays bounded whatever the image size, and the event loop, which has downloads to
serve, never waits on the disk. One exception: a small image (``INLINE_BYTES``, a
thumbnail) that needs no fsync is created, written and closed on the event loop when
the caller's ``inline()`` allows it. That only copies a few pages into the page cache,
which costs less than handing the call to a thread and back (benchmarks/README.md,
issue 6); the flush to disk, the slow part,
is still the committer's, in a thread, and the harvest allows it only while no flush
is under way (``Committer.idle``), when a create does not wait behind one.
Nothing is kept unless its length matched the server's Content-Length.

Then, by how the run makes files durable (``_sync``): either the file is fsynced and
renamed to its final name in that same call (``durable=True``), or it is closed as it is
and handed to the harvest's committer, which flushes a batch of them with one syncfs
before renaming them. Either way the committer fsyncs the directories of a batch, so the
renames survive a power cut, before the files are recorded done. On any failure or
cancellation the temporary file is removed: a file under a final name is always whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

import attrs

from .._redact import redact_url
from ..errors import DownloadError
from .layout import is_temp_name, temp_sibling

if TYPE_CHECKING:
    from .._client import Client
    from ._files import FileThreads

__all__ = ["Downloaded", "remove_stale_temps", "save_atomically"]

_BINARY: Final = getattr(os, "O_BINARY", 0)
_CREATE: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY
# Bytes gathered in memory before a thread writes them: one call for a typical image,
# a bounded buffer per download for a huge one.
FLUSH_BYTES: Final = 1024 * 1024
# Images up to this size that need no fsync are written on the event loop (see above).
INLINE_BYTES: Final = 64 * 1024
# Temporary file names: unique within the process by the counter, and from a random
# start so that a killed run's leftovers are unlikely to be met (O_EXCL refuses them).
_TOKEN_MASK: Final = (1 << 48) - 1
_TOKENS: Final = itertools.count(secrets.randbits(48))


@attrs.frozen
class Downloaded:
    nbytes: int
    sha256: str
    temp: str | None  # where the file still is when not renamed yet (durable=False)


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


class _TempFile:
    """The temporary sibling of one final path. Its methods run in a worker thread, one
    at a time (the caller awaits each before the next)."""

    def __init__(self, final: str) -> None:
        self.final = final
        self.tmp = temp_sibling(final, f"{next(_TOKENS) & _TOKEN_MASK:012x}")
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

    def finish(self, chunks: list[bytes], durable: bool) -> None:
        """Write the rest and close; if ``durable``, fsync first and rename into place."""
        self.write(chunks)
        fd, self.fd = self.fd, None
        assert fd is not None
        try:
            if durable:
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


def _never() -> bool:
    return False


async def save_atomically(
    client: Client,
    url: str,
    final: str,
    *,
    files: FileThreads,
    durable: bool = True,
    inline: Callable[[], bool] = _never,
) -> Downloaded:
    """Download ``url`` to ``final``; the file appears under that name complete or not at all.

    ``durable``: on return the file is fsynced and renamed, but the rename is durable
    only once the caller has fsynced the directory. Otherwise the file is complete at
    ``Downloaded.temp``, not yet flushed, for the caller to sync and rename. The file
    calls run in ``files``; ``inline``, asked once a small image that needs no fsync has
    arrived, says whether it may be written on the event loop instead.
    """
    temp = _TempFile(final)
    pending: list[bytes] = []
    buffered = count = 0
    # The future of the thread call under way. Awaited shielded: a cancel must not
    # detach it from a thread still writing, or the cleanup below would race that thread
    # (and, once the thread renames, delete what is already the final file).
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
                    work = files.run(temp.write, pending)
                    await asyncio.shield(work)
                    pending, buffered = [], 0
        if expected is not None and count != expected:
            raise DownloadError(
                f"image arrived with {count} bytes, Content-Length said {expected}",
                method="GET",
                url=redact_url(url),
            )
        if durable or temp.fd is not None or buffered > INLINE_BYTES or not inline():
            work = files.run(temp.finish, pending, durable)
            await asyncio.shield(work)
        else:
            temp.finish(pending, durable)  # small, no fsync: on the loop (see above)
        return Downloaded(count, temp.digest.hexdigest(), None if durable else temp.tmp)
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
