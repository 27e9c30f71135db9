"""Harvest progress: a rich live panel on a terminal, plain log lines otherwise.

``rich`` is optional (the ``cli`` extra): without it, or when stdout is not a terminal,
progress goes to stderr as log lines (race days, failures, and a tally every few
seconds), which suits cron jobs and CI logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TextIO

from .. import Client, LimitsSnapshot
from ..harvester import HarvestEvent, HarvestStats, HarvestSummary

__all__ = ["PlainProgress", "make_progress", "render_summary", "watch_limits"]

TALLY_EVERY = 5.0  # seconds between plain tally lines
LIMITS_EVERY = 1.0  # seconds between readings of the shared limits


def describe_limits(limits: LimitsSnapshot) -> str:
    state = "Redis unreachable, going on alone: " if limits.degraded else ""
    paused = f", paused {limits.paused_for:.1f} s" if limits.paused_for > 0 else ""
    return (
        f"{state}{limits.rate:.1f} req/s, {limits.tokens:.1f} tokens,"
        f" {limits.in_flight}/{limits.max_concurrency} in flight,"
        f" {limits.clients} clients{paused}"
    )


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def tally(stats: HarvestStats) -> str:
    rate = stats.bytes_downloaded / stats.elapsed if stats.elapsed > 0 else 0.0
    return (
        f"race days {stats.race_days_listed + stats.race_days_failed}/{stats.race_days} listed"
        f" ({stats.race_days_failed} failed); photos {stats.photos_found} found,"
        f" {stats.photos_downloaded} downloaded, {stats.photos_skipped} already done,"
        f" {stats.photos_failed} failed; {human_bytes(stats.bytes_downloaded)}"
        f" at {human_bytes(rate)}/s"
    )


class PlainProgress:
    """Log lines on ``out`` (stderr by default)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.last = time.monotonic()
        self.limits: LimitsSnapshot | None = None

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, event: HarvestEvent) -> None:
        where = _where(event)
        if event.kind == "race_day_listed":
            self.line(f"listed {where}")
        elif event.kind == "race_day_done":
            self.line(f"recorded {where}")
        elif event.kind == "race_day_failed":
            self.line(f"FAILED listing {where}: {event.detail}")
        elif event.kind == "photo_failed":
            self.line(f"FAILED {where} photo {event.photo_id}: {event.detail}")
        now = time.monotonic()
        if now - self.last >= TALLY_EVERY:
            self.last = now
            shared = f"; shared limits: {describe_limits(self.limits)}" if self.limits else ""
            self.line(tally(event.stats) + shared)

    def line(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", file=self.out, flush=True)


class RichProgress:
    """A live panel of the counters, redrawn a few times a second by rich."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console()
        self.stats: HarvestStats | None = None
        self.limits: LimitsSnapshot | None = None
        self.live = Live(self, console=self.console, refresh_per_second=4, transient=False)

    def __rich__(self) -> Any:
        from rich.table import Table

        table = Table(title="RunSignup photo harvest", show_header=False, box=None)
        s = self.stats
        if s is None:
            table.add_row("starting...")
            return table
        rate = s.bytes_downloaded / s.elapsed if s.elapsed > 0 else 0.0
        listed = s.race_days_listed + s.race_days_failed
        table.add_row("race days listed", f"{listed}/{s.race_days}")
        table.add_row("photos found", str(s.photos_found))
        table.add_row("photos downloaded", str(s.photos_downloaded))
        table.add_row("already done", str(s.photos_skipped))
        table.add_row("bytes", human_bytes(s.bytes_downloaded))
        table.add_row("rate", f"{human_bytes(rate)}/s")
        failed = s.race_days_failed + s.photos_failed
        table.add_row("failures", f"[red]{failed}[/red]" if failed else "0")
        if self.limits is not None:
            table.add_row("shared limits", describe_limits(self.limits))
        return table

    def __enter__(self) -> RichProgress:
        self.live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.live.__exit__(exc_type, exc, tb)

    def __call__(self, event: HarvestEvent) -> None:
        self.stats = event.stats
        if event.kind in ("race_day_failed", "photo_failed"):
            where = _where(event)
            photo = f" photo {event.photo_id}" if event.photo_id is not None else ""
            self.console.print(f"[red]FAILED[/red] {where}{photo}: {event.detail}", markup=True)


def make_progress(enabled: bool = True) -> PlainProgress | RichProgress:
    if enabled and sys.stdout.isatty():
        try:
            return RichProgress()
        except ImportError:
            pass
    return PlainProgress()


def render_summary(summary: HarvestSummary, dest: str) -> str:
    lines = [
        f"Harvest {'complete' if summary.ok else 'finished WITH FAILURES'}"
        f" in {summary.elapsed:.1f} s into {dest}",
        f"  race days: {summary.race_days_listed}/{summary.race_days} listed,"
        f" {summary.race_days_failed} failed",
        f"  photos:    {summary.photos_found} found, {summary.photos_downloaded} downloaded,"
        f" {summary.photos_skipped} already done, {summary.photos_failed} failed",
        f"  files:     {summary.files_downloaded} written, {human_bytes(summary.bytes_downloaded)}"
        f" ({human_bytes(summary.bytes_per_second)}/s)"
        + (f", {summary.images_missing} sizes not offered" if summary.images_missing else ""),
    ]
    if not summary.ok:
        lines.append(f"Failures ({summary.failures_total}):")
        lines.extend(f"  - {failure}" for failure in summary.failures)
        hidden = summary.failures_total - len(summary.failures)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more (see the manifest)")
    return "\n".join(lines)


def _where(event: HarvestEvent) -> str:
    if event.race_event_days_id is None:  # a race by id whose race days could not be read
        return f"race {event.race_id} (its race days)"
    return f"race {event.race_id} day {event.race_event_days_id}"


@contextlib.asynccontextmanager
async def watch_limits(
    client: Client, progress: PlainProgress | RichProgress
) -> AsyncIterator[None]:
    """While the body runs, keep ``progress.limits`` at the group's latest snapshot
    (only when the client shares its limits)."""

    async def watch() -> None:
        while True:
            progress.limits = await client.limits_snapshot()
            await asyncio.sleep(LIMITS_EVERY)

    if not client.shares_limits:
        yield
        return
    task = asyncio.ensure_future(watch())
    try:
        yield
    finally:
        task.cancel()
        # Waits for the watcher to end; a cancellation of our own still reaches us.
        await asyncio.gather(task, return_exceptions=True)
