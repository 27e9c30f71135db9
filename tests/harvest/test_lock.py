"""The destination lock: a local harvest holds a directory alone; queue workers share it."""

from __future__ import annotations

from pathlib import Path

import pytest

from runsignup_async.errors import DestinationBusyError
from runsignup_async.harvester._lock import DestinationLock


def test_a_second_local_harvest_is_refused_while_the_first_holds_the_directory(
    tmp_path: Path,
) -> None:
    busy = pytest.raises(DestinationBusyError, match="another harvest, or harvest workers,")
    with DestinationLock(tmp_path), busy:
        DestinationLock(tmp_path).__enter__()
    with DestinationLock(tmp_path):  # released on exit: the next run takes it
        pass


def test_workers_share_the_directory_and_a_local_harvest_waits_for_all_of_them(
    tmp_path: Path,
) -> None:
    busy = pytest.raises(DestinationBusyError, match=str(tmp_path))
    with DestinationLock(tmp_path, shared=True), DestinationLock(tmp_path, shared=True), busy:
        DestinationLock(tmp_path).__enter__()
    with DestinationLock(tmp_path, shared=True):
        pass
    busy = pytest.raises(DestinationBusyError, match="a harvest is writing")
    with DestinationLock(tmp_path), busy:
        DestinationLock(tmp_path, shared=True).__enter__()
