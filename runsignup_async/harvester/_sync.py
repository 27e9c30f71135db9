"""Putting written files on stable storage: one fsync per file, or one syncfs per batch.

The harvest promises the same either way: every byte of a downloaded file is on stable
storage before the file is renamed to its final name, and the rename is on stable storage
before the manifest records the file done.

``fsync(2)`` per file ends with a device cache flush per file. On Linux, ``syncfs(2)``
writes back every dirty page of one file system and flushes the device once, so a batch
of hundreds of files costs one flush instead of hundreds, far less than a fsync per file
(``benchmarks/bench_disk.py``; figures in benchmarks/README.md). Two properties of
syncfs shape how it is used here:

- It reports a write-back error only since Linux 5.8, and only one that happened after
  the descriptor it is given was opened. So it is used on 5.8 or later only, through a
  descriptor per file system opened before the first file is written there and kept
  open for the whole run (``FileSystems.watch``). An error fails the whole batch: no
  file of it is renamed or recorded, and the next run downloads them again.
- It writes back other programs' dirty data on the same file system too. On ext4 with
  its default ``data=ordered``, a fsync's journal commit already does much the same.

Elsewhere (macOS, Windows, older Linux) the harvest fsyncs each file before its rename.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Final

__all__ = ["FileSystems", "file_systems", "fsync_dirs", "load_syncfs"]

# The first release whose syncfs returns write-back errors rather than dropping them.
SYNCFS_REPORTS_ERRORS_SINCE: Final = (5, 8)

SyncFs = Callable[[int], None]


def _kernel_version(release: str) -> tuple[int, int] | None:
    numbers = re.match(r"(\d+)\.(\d+)", release)
    return None if numbers is None else (int(numbers[1]), int(numbers[2]))


def load_syncfs(system: str = sys.platform, release: str | None = None) -> SyncFs | None:
    """``syncfs(fd)`` raising ``OSError`` on failure, or None where it cannot be trusted."""
    if not system.startswith("linux"):
        return None
    version = _kernel_version(platform.release() if release is None else release)
    if version is None or version < SYNCFS_REPORTS_ERRORS_SINCE:
        return None
    try:
        import ctypes  # not in every Python build: without it, fsync per file

        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.syncfs
    except (ImportError, OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int]
    call.restype = ctypes.c_int

    def syncfs(fd: int) -> None:
        # ctypes releases the GIL for the call: the event loop runs on meanwhile.
        if call(fd) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"syncfs failed: {os.strerror(errno)}")

    return syncfs


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


class FileSystems:
    """The file systems a run writes to, each with a descriptor for ``syncfs``."""

    def __init__(self, syncfs: SyncFs) -> None:
        self._syncfs = syncfs
        self._fds: dict[int, int] = {}

    def watch(self, directory: str) -> None:
        """Call before the first file is written under ``directory``: errors met after
        this call are the ones ``sync`` reports."""
        device = os.stat(directory).st_dev
        if device not in self._fds:
            self._fds[device] = os.open(directory, os.O_RDONLY)

    def descriptors(self) -> tuple[int, ...]:
        """Taken on the event loop thread when a batch is cut, then passed to ``sync``."""
        return tuple(self._fds.values())

    def sync(self, descriptors: Iterable[int]) -> None:
        """Write back and flush each file system (blocking: runs in a thread)."""
        for fd in descriptors:
            self._syncfs(fd)

    def close(self) -> None:
        fds, self._fds = self._fds, {}
        for fd in fds.values():
            os.close(fd)


@contextmanager
def file_systems() -> Iterator[FileSystems | None]:
    """A run's ``FileSystems`` where syncfs can be trusted, else None (fsync per file)."""
    syncfs = load_syncfs()
    if syncfs is None:
        yield None
        return
    watched = FileSystems(syncfs)
    try:
        yield watched
    finally:
        watched.close()
