"""A race day is recorded as soon as it ends, not when the run ends: visible to
``photos-by-bib`` while a long run goes on, and forgotten by the sink."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from runsignup_async import RaceDay
from runsignup_async.harvester import HarvestEvent, harvest
from runsignup_async.harvester.run import harvest_into
from runsignup_async.harvester.sinks import S3Sink
from runsignup_async.testing import FakeRunSignup, Fault

from .conftest import fast_client
from .dests import Dest
from .s3server import MotoS3


def _photos_by_bib(dest: Dest, bib: int) -> list[dict[str, object]]:
    """``runsignup-async photos-by-bib`` in its own process, as another machine would."""
    argv = [sys.executable, "-m", "runsignup_async.cli", "photos-by-bib", dest.url, "--bib",
            str(bib)]  # fmt: skip
    if "s3_endpoint" in dest.options:
        argv += ["--s3-endpoint", str(dest.options["s3_endpoint"])]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=os.environ)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.runsignup_fake(seed=31, races=4, photos_per_race_day=10)
async def test_a_finished_race_day_is_visible_to_photos_by_bib_while_the_run_goes_on(
    runsignup_fake: FakeRunSignup, dest: Dest
) -> None:
    fake = runsignup_fake
    fake.faults.add(Fault.slow(0.02), endpoint="images")  # a long run, in miniature
    bibs_of = {
        p["photo_id"]: set(p["bibs"]) for r, d in fake.race_days() for p in fake.photos(r, d)
    }
    day_of = {p["photo_id"]: (r, d) for r, d in fake.race_days() for p in fake.photos(r, d)}
    everywhere = Counter(b for bibs in bibs_of.values() for b in bibs)
    done: list[tuple[int, int]] = []
    seen: dict[str, object] = {}
    events: list[HarvestEvent] = []

    def progress(event: HarvestEvent) -> None:
        events.append(event)
        if event.kind != "race_day_done" or seen:
            return
        day = (event.race_id, event.race_event_days_id)
        done.append(day)  # type: ignore[arg-type]
        # A bib of this race day, the one most photos of other race days show too.
        bib = max({b for p, bibs in bibs_of.items() if day_of[p] == day for b in bibs},
                  key=lambda b: (everywhere[b], b))  # fmt: skip
        seen["hits"] = _photos_by_bib(dest, bib)  # the run waits meanwhile: still going on
        seen["want"] = {p for p, bibs in bibs_of.items() if bib in bibs and day_of[p] == day}
        seen["at"] = len(events)

    async with fast_client(fake, download_concurrency=2) as client:
        summary = await harvest(client, fake.race_days(), dest.url, concurrency=1,
                                progress=progress, **dest.options)  # fmt: skip
    assert summary.ok and summary.photos_downloaded == 40
    hits = seen["hits"]
    assert isinstance(hits, list)
    assert {h["photo_id"] for h in hits} == seen["want"] and len(hits) == len(seen["want"])
    for hit in hits:  # each with its file, whole
        (key,) = hit["files"].values()
        rel = key.removeprefix(dest.url).lstrip("/")
        assert dest.read(rel) == fake.image_bytes(hit["photo_id"], "original")
    later = events[seen["at"] :]  # type: ignore[misc]
    assert sum(e.kind == "photo_downloaded" for e in later) > 0  # the run went on after
    assert sum(e.kind == "race_day_done" for e in events) == 4


@pytest.mark.runsignup_fake(seed=32, races=10, photos_per_race_day=20)
async def test_the_bucket_sink_holds_only_the_race_days_in_flight(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str
) -> None:
    fake = runsignup_fake
    sink = S3Sink(f"s3://{bucket}/photos", endpoint=moto_s3.endpoint)
    held: list[int] = []
    forgotten = []

    def progress(event: HarvestEvent) -> None:
        held.append(len(sink._days))
        if event.kind == "race_day_done":
            forgotten.append((event.race_id, event.race_event_days_id) not in sink._days)

    async with fast_client(fake, download_concurrency=2) as client, sink:
        summary = await harvest_into(client, sink, [RaceDay(*d) for d in fake.race_days()], {},
                                     sizes=("original",), concurrency=1, progress=progress,
                                     since_last=False)  # fmt: skip
        assert summary.ok and summary.photos_downloaded == 200
        assert sink._days == {}  # nothing of any race day is held once the run ends
    assert forgotten == [True] * 10
    # The race day being listed, and those whose photos wait in the download queue (at
    # most 10 jobs: under a race day's 20 photos, so they span two days at most).
    assert max(held) <= 3 and len(held) > 200
    assert len(moto_s3.keys(bucket, "photos/_manifests/")) == 10
