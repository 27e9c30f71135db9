"""The harvest's file threads: blocking file calls off the event loop, results in batches.

A ``ThreadPoolExecutor`` wakes an idle thread for every call and the event loop for
every result (a write to its self-pipe each time), and a harvest makes a call or more
per image it does not write on the loop (``download``: anything fsynced or large): those
hand-offs cost the loop about as much as the harvest's own bookkeeping. Here the calls
go into one queue; a thread that finds more waiting when it finishes one runs them too,
and hands the loop everything it finished in one ``call_soon_threadsafe``. Under load
the threads never sleep, so nothing is woken per call, and the loop is woken once per
batch.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from . import _settings as S

__all__ = ["FileThreads"]

T = TypeVar("T")

_Call = tuple["asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]
_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


def _settle(outcomes: list[_Outcome]) -> None:
    for future, result, error in outcomes:
        if future.cancelled():
            continue  # nobody waits for it any more
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


class FileThreads:
    """``await threads.run(fn, *args)`` runs ``fn`` in one of a few threads.

    Use as ``async with FileThreads() as threads``; the threads stop on exit, once every
    call made has finished.
    """

    def __init__(self, count: int = S.FILE_THREADS) -> None:
        self._count = count
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> FileThreads:
        self._loop = asyncio.get_running_loop()
        for n in range(self._count):
            thread = threading.Thread(
                target=self._work, name=f"runsignup-harvest-files-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for _ in self._threads:
            self._calls.put(None)
        threads, self._threads = self._threads, []
        for thread in threads:
            # Every call's caller awaited it (see download.save_atomically), so the
            # queue holds only the stop markers: the threads end at once.
            await asyncio.to_thread(thread.join)

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue ``fn(*args)``; the future completes with its result or its exception."""
        if self._loop is None or not self._threads:
            raise RuntimeError("FileThreads.run() outside `async with FileThreads()`")
        future: asyncio.Future[T] = self._loop.create_future()
        self._calls.put((future, fn, args))
        return future

    def _work(self) -> None:
        calls, loop = self._calls, self._loop
        assert loop is not None
        while True:
            call = calls.get()
            outcomes: list[_Outcome] = []
            most = S.FILE_CALLS_PER_REPORT
            while call is not None and len(outcomes) < most:
                future, fn, args = call
                try:
                    outcomes.append((future, fn(*args), None))
                except BaseException as error:  # handed to the awaiting coroutine
                    outcomes.append((future, None, error))
                if len(outcomes) < most:
                    try:
                        call = calls.get_nowait()
                    except queue.Empty:
                        break
            if outcomes:
                loop.call_soon_threadsafe(_settle, outcomes)
            if call is None:
                return
