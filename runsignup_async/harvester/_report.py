"""What a harvest reports: failures, live counters, progress events and the summary."""

from __future__ import annotations

import time
from typing import Literal

import attrs

from . import _settings as S

__all__ = ["EventKind", "Failure", "HarvestEvent", "HarvestStats", "HarvestSummary", "Key"]

Key = tuple[int, int]
# race_day_done: the race day's listing and downloads have ended and the destination has
# recorded it (its manifest object written, or its SQLite rows committed).
EventKind = Literal[
    "race_day_listed",
    "race_day_failed",
    "race_day_done",
    "photo_skipped",
    "photo_downloaded",
    "photo_failed",
]


@attrs.frozen
class Failure:
    """What failed: a race day's listing (``photo_id`` None), one size of one photo, or
    reading the race days of a race given by its id alone (``race_event_days_id`` None)."""

    race_id: int
    race_event_days_id: int | None
    photo_id: int | None
    size: str | None
    reason: str

    def __str__(self) -> str:
        if self.race_event_days_id is None:
            return f"race {self.race_id}: its race days could not be read: {self.reason}"
        where = f"race {self.race_id} day {self.race_event_days_id}"
        if self.photo_id is None:
            return f"{where}: listing failed: {self.reason}"
        return f"{where} photo {self.photo_id} ({self.size}): {self.reason}"


@attrs.define
class HarvestStats:
    """Live counters, updated as the harvest goes; progress displays read them."""

    race_days: int = 0
    race_days_listed: int = 0
    race_days_failed: int = 0
    photos_found: int = 0
    photos_skipped: int = 0
    photos_downloaded: int = 0
    photos_failed: int = 0
    images_missing: int = 0
    files_downloaded: int = 0
    bytes_downloaded: int = 0
    failures_total: int = 0
    failures: list[Failure] = attrs.Factory(list)
    started: float = attrs.Factory(time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def fail(self, failure: Failure) -> None:
        self.failures_total += 1
        if len(self.failures) < S.FAILURES_KEPT:
            self.failures.append(failure)

    def summary(self) -> HarvestSummary:
        """The counters as they stand, frozen."""
        return HarvestSummary(
            race_days=self.race_days,
            race_days_listed=self.race_days_listed,
            race_days_failed=self.race_days_failed,
            photos_found=self.photos_found,
            photos_skipped=self.photos_skipped,
            photos_downloaded=self.photos_downloaded,
            photos_failed=self.photos_failed,
            images_missing=self.images_missing,
            files_downloaded=self.files_downloaded,
            bytes_downloaded=self.bytes_downloaded,
            elapsed=self.elapsed,
            failures=tuple(self.failures),
            failures_total=self.failures_total,
        )


@attrs.frozen
class HarvestEvent:
    """Passed to ``progress`` on each step; ``stats`` is the live counter object.

    ``race_event_days_id`` is None for a race given by id whose race days could not be read.
    """

    kind: EventKind
    stats: HarvestStats
    race_id: int
    race_event_days_id: int | None
    photo_id: int | None = None
    detail: str | None = None


@attrs.frozen
class HarvestSummary:
    """What a harvest did. ``ok`` is False when anything failed (see ``failures``)."""

    race_days: int
    race_days_listed: int
    race_days_failed: int
    photos_found: int
    photos_skipped: int
    photos_downloaded: int
    photos_failed: int
    images_missing: int
    files_downloaded: int
    bytes_downloaded: int
    elapsed: float
    failures: tuple[Failure, ...]
    failures_total: int

    @property
    def ok(self) -> bool:
        return self.failures_total == 0

    @property
    def bytes_per_second(self) -> float:
        return self.bytes_downloaded / self.elapsed if self.elapsed > 0 else 0.0
