"""Unit tests of harvest.manifest: photo rows, file statuses, bibs and high-water marks."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from runsignup_async.harvester.manifest import Manifest
from runsignup_async.models import Photo, PhotoImage


def _photo(photo_id: int, bibs: tuple[int, ...], ts: int = 1_600_000_000) -> Photo:
    image = PhotoImage(image_url=f"https://s3/{photo_id}.jpg", width=10, height=10)
    return Photo(
        photo_id=photo_id,
        album_id="reg-9",
        race_event_days_id=9,
        bibs=bibs,
        original=image,
        uploaded_filename="../../x.jpg",
        uploaded_ts=datetime.fromtimestamp(ts, tz=timezone.utc),
        race_id=1,
    )


def test_files_and_bibs_round_trip(tmp_path: Path) -> None:
    with Manifest.open(tmp_path / "m.sqlite3") as m:
        m.queue_photo(1, _photo(5, (1179, 42)))
        m.queue_photo(1, _photo(6, (1179,)))
        m.queue_file(1, 9, 5, "original", status="done", path="1/9/reg-9/5-original.jpg",
                     nbytes=10, sha256="ab")  # fmt: skip
        m.queue_file(1, 9, 6, "original", status="failed", error="boom")
        assert m.files_of(1, 9, 5) == {}  # queued rows are written by flush()
        m.flush()
        assert m.files_of(1, 9, 5)["original"].status == "done"
        assert m.files_of(1, 9, 6)["original"].error == "boom"
        hits = m.photos_by_bib(1179)
        assert [h.photo_id for h in hits] == [5, 6]
        assert hits[0].files == {"original": "1/9/reg-9/5-original.jpg"}
        assert hits[0].uploaded_filename == "../../x.jpg"  # metadata only
        assert hits[1].files == {}
        # Bibs follow the latest listing.
        m.queue_photo(1, _photo(5, (7,)))
        m.flush()
        assert [h.photo_id for h in m.photos_by_bib(1179)] == [6]
        assert [(h.bib, h.photo_id) for h in m.bib_index()] == [(7, 5), (1179, 6)]
        assert m.counts() == {"done": 1, "failed": 1}


def test_high_water_only_moves_forward_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    ts = datetime(2024, 5, 1, tzinfo=timezone.utc)
    with Manifest.open(path) as m:
        assert m.high_water(1, 9) is None
        m.mark_race_day_done(1, 9, ts)
        m.mark_race_day_done(1, 9, datetime(2020, 1, 1, tzinfo=timezone.utc))
        m.mark_race_day_done(1, 9, None)
    with Manifest.open(path) as m:
        assert m.high_water(1, 9) == ts
