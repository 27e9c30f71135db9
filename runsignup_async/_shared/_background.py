"""The Redis commands a shared limiter has under way that no caller awaits any more."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["Background"]

T = TypeVar("T")


def _collect(task: asyncio.Task[Any]) -> None:
    # An abandoned command's error is of no use to anyone: retrieve it so asyncio does
    # not report it as never retrieved.
    if not task.cancelled():
        task.exception()


class Background:
    """Tasks left running on their own: reports, refills, releases, and commands whose
    caller was cancelled. Kept here so that closing the limiter can wait for them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def pending(self) -> list[asyncio.Task[Any]]:
        return list(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._keep(asyncio.ensure_future(work))

    async def call(self, work: Awaitable[T], abandoned: Callable[[T], None] | None = None) -> T:
        """Await a Redis command so that a cancellation reaches the caller at once.

        redis-py finishes a command it has begun even when its task is cancelled, and
        then returns the answer as if nothing had happened: the ``CancelledError`` is
        lost, and whoever cancelled (``iter_many`` closing its workers) waits forever.
        Here the command runs in a task of its own, shielded: the caller is cancelled at
        once, and the command's answer, when it comes, goes to ``abandoned``.
        """
        task = asyncio.ensure_future(work)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            self._keep(task)
            task.add_done_callback(_collect)
            if abandoned is not None:
                task.add_done_callback(
                    lambda done: (
                        abandoned(done.result())
                        if not done.cancelled() and done.exception() is None
                        else None
                    )
                )
            raise

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
