"""One harvest per destination at a time: a lock file under ``dest``.

A second run on the same directory would clear the first one's temporary files as stale
and write the same race days' files and rows as the first. A local harvest takes the
lock exclusively. Queue workers share it (``shared=True``): the queue gives each race
day to one worker at a time, and a race day's files live in its own directories, so
workers never write the same file nor clear each other's temporary files; the lock then
only keeps a local harvest and a fleet of workers apart. The OS drops the lock when its
process dies, even by SIGKILL, so a killed run never blocks the next one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import IO

from ..errors import DestinationBusyError

__all__ = ["DestinationLock"]

LOCK_NAME = ".harvest.lock"


class DestinationLock:
    def __init__(self, dest: Path, *, shared: bool = False) -> None:
        self.path = dest / LOCK_NAME
        self.shared = shared
        self._handle: IO[bytes] | None = None

    def __enter__(self) -> DestinationLock:
        handle = open(self.path, "ab")
        try:
            _lock(handle, shared=self.shared)
        except BlockingIOError:
            handle.close()
            holder = "a harvest" if self.shared else "another harvest, or harvest workers,"
            raise DestinationBusyError(
                f"{holder} is writing to {self.path.parent}; wait for it to finish"
            ) from None
        except BaseException:
            handle.close()
            raise
        self._handle = handle
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.close()  # closing releases the lock
            self._handle = None


if sys.platform == "win32":  # pragma: no cover
    import msvcrt

    # No shared locks here: workers sharing a directory take turns with it.
    def _lock(handle: IO[bytes], *, shared: bool) -> None:
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            raise BlockingIOError("locked") from None

else:
    import fcntl

    def _lock(handle: IO[bytes], *, shared: bool) -> None:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
