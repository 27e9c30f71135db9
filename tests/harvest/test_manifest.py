"""Unit tests of harvest.manifest: photo rows, file statuses, bibs and high-water marks."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import attrs
import pytest

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


@pytest.mark.parametrize(
    ("url", "bibs", "sizes"),
    [
        ("https://s3/a.jpg?X-Amz-Expires=60&x=1", (1179, 42), ("original", "thumbnail")),
        ('https://s3/"quoted"\\back\\slash.jpg', (), ("large",)),
        (
            "https://s3/caf\u00e9/\u65e5\u672c/\U0001f3c3.jpg",
            (7,),
            ("original", "large", "thumbnail"),
        ),
        ("https://s3/ctl\x00\x1f\t\n.jpg", (0, 10**12), ()),
    ],
)
def test_json_columns_read_back_as_what_was_listed(
    tmp_path: Path, url: str, bibs: tuple[int, ...], sizes: tuple[str, ...]
) -> None:
    images = {
        size: PhotoImage(image_url=f"{url}#{size}", width=n + 1, height=2 * n + 3)
        for n, size in enumerate(sizes)
    }
    photo = attrs.evolve(_photo(5, bibs), **{"original": None, **images})
    with Manifest.open(tmp_path / "m.sqlite3") as m:
        m.queue_photo(1, photo)
    with sqlite3.connect(tmp_path / "m.sqlite3") as db:
        stored_bibs, stored_sizes = db.execute("SELECT bibs, sizes FROM photos").fetchone()
    assert json.loads(stored_bibs) == list(bibs)
    assert json.loads(stored_sizes) == {
        size: {"image_url": image.image_url, "width": image.width, "height": image.height}
        for size, image in images.items()
    }
    assert list(json.loads(stored_sizes)) == [
        s for s in ("original", "large", "thumbnail") if s in sizes
    ]


def test_a_photo_retagged_between_listings_is_indexed_under_its_latest_bibs(
    tmp_path: Path,
) -> None:
    with Manifest.open(tmp_path / "m.sqlite3") as m:
        # Listed twice before one flush, then once more after it.
        m.queue_photo(1, _photo(5, (1179, 42)))
        m.queue_photo(1, _photo(5, (7,)))
        m.flush()
        assert [h.photo_id for h in m.photos_by_bib(7)] == [5]
        assert m.photos_by_bib(1179) == [] and m.photos_by_bib(42) == []
        m.queue_photo(1, _photo(5, (8,)))
        m.flush()
        assert m.photos_by_bib(7) == [] and [h.photo_id for h in m.photos_by_bib(8)] == [5]


def _changes(m: Manifest, work: Callable[[], None]) -> int:
    """Rows written by ``work``, trigger writes included (sqlite3_total_changes)."""
    before = m._conn.total_changes
    work()
    return m._conn.total_changes - before


def test_the_bib_index_is_rewritten_only_when_a_listing_changes_the_bibs(
    tmp_path: Path,
) -> None:
    with Manifest.open(tmp_path / "m.sqlite3") as m:
        m.queue_photo(1, _photo(5, (1179, 42)))
        assert _changes(m, m.flush) == 3  # the photo and its two bibs
        m.queue_photo(1, _photo(5, (1179, 42)))  # listed again, same bibs
        assert _changes(m, m.flush) == 1  # the photo row only
        assert sorted((h.bib, h.photo_id) for h in m.bib_index()) == [(42, 5), (1179, 5)]
        m.queue_photo(1, _photo(5, (7, 7)))  # retagged; a repeated bib is indexed once
        assert _changes(m, m.flush) == 1 + 2 + 1
        assert [(h.bib, h.photo_id) for h in m.bib_index()] == [(7, 5)]


def test_the_bib_index_follows_photos_written_by_plain_sql(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    Manifest.open(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO photos VALUES (1, 9, 5, 'reg-9', '[1179,42]', 0, NULL, '{}', 0)")
        db.execute("UPDATE photos SET bibs='[8]' WHERE photo_id=5")
    with Manifest.open(path, create=False) as m:
        assert [(h.bib, h.photo_id) for h in m.bib_index()] == [(8, 5)]


def test_a_manifest_made_before_the_bib_triggers_keeps_its_index_right(
    tmp_path: Path,
) -> None:
    # The layout of earlier development builds: bibs written by the harvest itself.
    path = tmp_path / "m.sqlite3"
    with Manifest.open(path) as m:
        m.queue_photo(1, _photo(5, (1179,)))
    with sqlite3.connect(path) as db:
        db.executescript("DROP TRIGGER bibs_of_new_photo; DROP TRIGGER bibs_of_retagged_photo;")
    with Manifest.open(path) as m:
        assert [h.bib for h in m.bib_index()] == [1179]
        m.queue_photo(1, _photo(5, (7,)))
        m.flush()
        assert [h.bib for h in m.bib_index()] == [7]


def test_a_manifest_without_image_records_opens_and_claims_no_image(tmp_path: Path) -> None:
    # Schema 1: files rows with no record of which image they hold.
    path = tmp_path / "m.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE files (race_id INTEGER NOT NULL, race_event_days_id INTEGER NOT NULL,"
            " photo_id INTEGER NOT NULL, size TEXT NOT NULL, status TEXT NOT NULL, path TEXT,"
            " bytes INTEGER, sha256 TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
            " updated_at REAL NOT NULL, PRIMARY KEY (race_id, race_event_days_id, photo_id, size))"
        )
        db.execute("INSERT INTO files VALUES (1, 9, 5, 'original', 'done', 'a.jpg', 3, 'x', NULL,"
                   " 1, 0)")  # fmt: skip
    with Manifest.open(path) as m:
        assert m.files_of(1, 9, 5)["original"].image is None  # so fetched again, once
        m.queue_file(1, 9, 5, "original", status="done", path="a.jpg", nbytes=3,
                      image="/5.jpg 10x10")  # fmt: skip
        m.flush()
        assert m.files_of(1, 9, 5)["original"].image == "/5.jpg 10x10"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
