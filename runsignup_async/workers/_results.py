"""A race day job's result as it travels through Redis (JSON), and back into a summary."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..harvester import Failure, HarvestStats, HarvestSummary

__all__ = ["add_result", "result_of", "summary_of"]


def result_of(summary: HarvestSummary) -> dict[str, Any]:
    """What a job returns: the counts of its race day and its failures, one line each."""
    return {
        "race_days_listed": summary.race_days_listed,
        "race_days_failed": summary.race_days_failed,
        "photos_found": summary.photos_found,
        "photos_skipped": summary.photos_skipped,
        "photos_downloaded": summary.photos_downloaded,
        "photos_failed": summary.photos_failed,
        "images_missing": summary.images_missing,
        "files_downloaded": summary.files_downloaded,
        "bytes_downloaded": summary.bytes_downloaded,
        "failures_total": summary.failures_total,
        "failures": [
            [f.race_id, f.race_event_days_id, f.photo_id, f.size, f.reason]
            for f in summary.failures
        ],
    }


_COUNTS = (
    "race_days_listed",
    "race_days_failed",
    "photos_found",
    "photos_skipped",
    "photos_downloaded",
    "photos_failed",
    "images_missing",
    "files_downloaded",
    "bytes_downloaded",
)


def add_result(stats: HarvestStats, result: dict[str, Any]) -> None:
    """Fold one job's result into the follower's live counters."""
    for name in _COUNTS:
        setattr(stats, name, getattr(stats, name) + int(result.get(name, 0)))
    failures = [Failure(*row) for row in result.get("failures", ())]
    for failure in failures:
        stats.fail(failure)
    # Failures the job counted but did not carry (beyond what it keeps) still count.
    stats.failures_total += max(0, int(result.get("failures_total", 0)) - len(failures))


def summary_of(stats: HarvestStats, extra: Iterable[Failure] = ()) -> HarvestSummary:
    for failure in extra:
        stats.fail(failure)
    return stats.summary()
