"""``_files.FileThreads``: file calls off the event loop, every result delivered."""

from __future__ import annotations

import asyncio
import threading

import pytest

from runsignup_async.harvester import _files
from runsignup_async.harvester import _settings as settings
from runsignup_async.harvester._files import FileThreads


async def test_results_and_errors_come_back_to_their_callers() -> None:
    def square(x: int) -> int:
        return x * x

    def fail(message: str) -> None:
        raise OSError(message)

    async with FileThreads() as threads:
        assert await threads.run(square, 7) == 49
        with pytest.raises(OSError, match="disk full"):
            await threads.run(fail, "disk full")


async def test_calls_run_off_the_loop_in_the_given_number_of_threads() -> None:
    names: set[str] = set()
    loop_thread = threading.current_thread().name

    def where() -> str:
        names.add(threading.current_thread().name)
        return threading.current_thread().name

    async with FileThreads(count=3) as threads:
        await asyncio.gather(*(threads.run(where) for _ in range(200)))
    assert loop_thread not in names
    assert names <= {f"runsignup-harvest-files-{n}" for n in range(3)}


async def test_a_queue_longer_than_a_batch_is_reported_in_several(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "FILE_CALLS_PER_REPORT", 4)
    release = threading.Event()
    reports: list[int] = []
    real_settle = _files._settle

    def settle(outcomes: list[_files._Outcome]) -> None:
        reports.append(len(outcomes))
        real_settle(outcomes)

    monkeypatch.setattr(_files, "_settle", settle)
    async with FileThreads(count=1) as threads:
        first = threads.run(release.wait, 5)  # holds the thread while the rest queue up
        rest = [threads.run(int, str(n)) for n in range(10)]
        release.set()
        assert await first is True
        assert await asyncio.gather(*rest) == list(range(10))
    assert sum(reports) == 11 and max(reports) <= 4  # every call reported, 4 at most at once


async def test_a_caller_that_stopped_waiting_does_not_break_the_others() -> None:
    release = threading.Event()
    async with FileThreads(count=1) as threads:
        blocked = threads.run(release.wait, 5)
        abandoned = threads.run(int, "1")
        kept = threads.run(int, "2")
        abandoned.cancel()
        release.set()
        assert await blocked is True and await kept == 2
    assert abandoned.cancelled()


def _file_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("runsignup-harvest-files-")]


async def test_threads_stop_on_exit_and_refuse_calls_outside() -> None:
    assert _file_threads() == []
    threads = FileThreads(count=2)
    with pytest.raises(RuntimeError, match="outside"):
        threads.run(int, "0")  # not started: would wait forever
    async with threads:
        await threads.run(int, "0")
        assert len(_file_threads()) == 2
    assert _file_threads() == []
    with pytest.raises(RuntimeError, match="outside"):
        threads.run(int, "0")  # stopped: nobody would run it
