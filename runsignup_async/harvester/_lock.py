"""One harvest per destination at a time: an exclusive lock file under ``dest``.

A second run on the same directory would clear the first one's temporary files as stale
and race it on the manifest. The OS drops the lock when its process dies, even by
SIGKILL, so a killed run never blocks the next one.
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
    def __init__(self, dest: Path) -> None:
        self.path = dest / LOCK_NAME
        self._handle: IO[bytes] | None = None

    def __enter__(self) -> DestinationLock:
        handle = open(self.path, "ab")
        try:
            _lock(handle)
        except BlockingIOError:
            handle.close()
            raise DestinationBusyError(
                f"another harvest is writing to {self.path.parent}; wait for it to finish"
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

    def _lock(handle: IO[bytes]) -> None:
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            raise BlockingIOError("locked") from None

else:
    import fcntl

    def _lock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
