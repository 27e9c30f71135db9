"""The harvest manifest: one SQLite file under ``dest`` that makes a harvest resumable.

Tables: ``photos`` (metadata per photo, keyed by race, race day and photo id), ``files``
(one row per photo and size: status ``done``/``failed``/``missing``, path relative to
``dest``, byte count, sha256, last error, and ``image``: what the listing said of the
image it holds, ``image_identity``), ``bibs`` (the bib index, kept from
``photos.bibs`` by triggers), ``race_days`` (per race day high-water mark of
``uploaded_ts`` for ``--since-last``) and ``runs``.

WAL mode with ``synchronous=NORMAL``: a commit costs no fsync, so the event loop is never
held for long; a crash may lose the last few commits, which only means re-checking or
re-downloading those files. The harvest queues rows (``queue_photo``, ``queue_file``) and
writes them in one transaction per batch (``flush``). Only the harvest's event loop
thread writes, so no lock is needed within a process; queue workers sharing a directory
write from several processes, each transaction short and taking the write lock as it
begins (``BEGIN IMMEDIATE``), so a busy writer is waited for, never a deadlock.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

import attrs

from ..models import Photo
from .layout import SIZES

__all__ = ["BibHit", "FileRecord", "Manifest"]

# JSON string literal of a str (json's C implementation where there is one).
_quote: Final[Callable[[str], str]] = json.encoder.encode_basestring_ascii
# Pages the write-ahead log may hold before a commit copies it into the database (and
# fsyncs both, holding the event loop): fewer, larger checkpoints than SQLite's 1,000.
WAL_CHECKPOINT_PAGES: Final = 10_000
SCHEMA_VERSION: Final = 2
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS photos (
    race_id INTEGER NOT NULL,
    race_event_days_id INTEGER NOT NULL,
    photo_id INTEGER NOT NULL,
    album_id TEXT NOT NULL,
    bibs TEXT NOT NULL,
    uploaded_ts INTEGER NOT NULL,
    uploaded_filename TEXT,
    sizes TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (race_id, race_event_days_id, photo_id)
);
CREATE TABLE IF NOT EXISTS files (
    race_id INTEGER NOT NULL,
    race_event_days_id INTEGER NOT NULL,
    photo_id INTEGER NOT NULL,
    size TEXT NOT NULL,
    -- Not `status IN (...)`: SQLite builds a temporary table to test each row against
    -- such a list, which made this check much of the cost of writing a file's row.
    status TEXT NOT NULL CHECK (status = 'done' OR status = 'failed' OR status = 'missing'),
    path TEXT,
    bytes INTEGER,
    sha256 TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    image TEXT,
    PRIMARY KEY (race_id, race_event_days_id, photo_id, size)
);
-- The bib index: kept by the triggers below from photos.bibs, so that it follows every
-- write of a photo's bibs, whoever makes it. A new photo adds its bibs; a listing that
-- retags a photo replaces them; a listing with the same bibs leaves the index alone.
-- (ON CONFLICT DO NOTHING, for a bib listed twice: in a trigger, INSERT OR IGNORE would
-- give way to the conflict policy of the statement that fired it.)
CREATE TABLE IF NOT EXISTS bibs (
    bib INTEGER NOT NULL,
    race_id INTEGER NOT NULL,
    race_event_days_id INTEGER NOT NULL,
    photo_id INTEGER NOT NULL,
    PRIMARY KEY (bib, race_id, race_event_days_id, photo_id)
) WITHOUT ROWID;
-- A retag deletes by (race, day, photo): without this index every such delete scanned
-- the whole table, making a harvest quadratic in its photo count.
CREATE INDEX IF NOT EXISTS bibs_by_photo ON bibs (race_id, race_event_days_id, photo_id);
CREATE TRIGGER IF NOT EXISTS bibs_of_new_photo AFTER INSERT ON photos BEGIN
    INSERT INTO bibs
    SELECT value, NEW.race_id, NEW.race_event_days_id, NEW.photo_id FROM json_each(NEW.bibs)
    WHERE true ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER IF NOT EXISTS bibs_of_retagged_photo AFTER UPDATE OF bibs ON photos
WHEN OLD.bibs IS NOT NEW.bibs BEGIN
    DELETE FROM bibs WHERE race_id = OLD.race_id
        AND race_event_days_id = OLD.race_event_days_id AND photo_id = OLD.photo_id;
    INSERT INTO bibs
    SELECT value, NEW.race_id, NEW.race_event_days_id, NEW.photo_id FROM json_each(NEW.bibs)
    WHERE true ON CONFLICT DO NOTHING;
END;
CREATE TABLE IF NOT EXISTS race_days (
    race_id INTEGER NOT NULL,
    race_event_days_id INTEGER NOT NULL,
    high_water_ts INTEGER,
    last_success_at REAL,
    PRIMARY KEY (race_id, race_event_days_id)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    finished_at REAL,
    outcome TEXT
);
"""


_UPSERT_PHOTO: Final = (
    "INSERT INTO photos VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT DO UPDATE SET album_id=excluded.album_id, bibs=excluded.bibs,"
    " uploaded_ts=excluded.uploaded_ts, uploaded_filename=excluded.uploaded_filename,"
    " sizes=excluded.sizes, seen_at=excluded.seen_at"
)
_UPSERT_FILE: Final = (
    "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
    " ON CONFLICT DO UPDATE SET status=excluded.status, path=excluded.path,"
    " bytes=excluded.bytes, sha256=excluded.sha256, error=excluded.error,"
    " attempts=files.attempts + 1, updated_at=excluded.updated_at, image=excluded.image"
)


# The two JSON columns are spelled here rather than by json.dumps: a harvest writes them
# for every photo listed, on the event loop, and json's encoder takes far longer for them
# (benchmarks/README.md). Same text as json.dumps(..., separators=(",", ":")).
def _bibs_json(bibs: tuple[int, ...]) -> str:
    return f"[{','.join(map(str, bibs))}]"


def _sizes_json(photo: Photo) -> str:
    """``{"original":{"image_url":...,"width":...,"height":...},...}``, sizes offered only."""
    return "{%s}" % ",".join(  # noqa: UP031 (f-string braces would hide the JSON's)
        [
            f'"{name}":{{"image_url":{_quote(image.image_url)},'
            f'"width":{int(image.width)},"height":{int(image.height)}}}'
            for name in SIZES
            if (image := getattr(photo, name)) is not None
        ]
    )


@attrs.frozen
class FileRecord:
    """What the manifest knows about one size of one photo."""

    status: str
    path: str | None
    bytes: int | None
    sha256: str | None
    error: str | None
    image: str | None


@attrs.frozen
class BibHit:
    """One photo showing a bib, with its downloaded files (size -> path relative to dest)."""

    bib: int
    race_id: int
    race_event_days_id: int
    photo_id: int
    album_id: str
    uploaded_ts: int
    uploaded_filename: str | None
    files: dict[str, str]


class Manifest:
    """An open manifest database. ``Manifest.open(path)``; close with ``close()``."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._photos: list[tuple[Any, ...]] = []
        self._files: list[tuple[Any, ...]] = []

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> Manifest:
        if not create and not path.is_file():
            raise FileNotFoundError(f"no harvest manifest at {path}")
        # isolation_level=None: autocommit, every statement its own short transaction.
        conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            conn.executescript(_SCHEMA)
            # One write transaction: queue workers sharing a directory open it at once,
            # and only one of them may add the column.
            conn.execute("BEGIN IMMEDIATE")
            try:
                columns = {row[1] for row in conn.execute("PRAGMA table_info(files)")}
                if "image" not in columns:
                    # A version 1 manifest: its files name no image, so none is taken for
                    # current; each is fetched again once and recorded with its image.
                    conn.execute("ALTER TABLE files ADD COLUMN image TEXT")
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        """Write what is queued, then close."""
        try:
            self.flush()
        finally:
            self._conn.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- photos and files --------------------------------------------------------------

    def queue_photo(self, race_id: int, photo: Photo) -> None:
        """Store (or refresh) a photo's metadata, and so its bib index entries, at the next
        ``flush()``. Queued twice before a flush, its later listing is the one that stays."""
        self._photos.append(
            (
                race_id,
                photo.race_event_days_id,
                photo.photo_id,
                str(photo.album_id),
                _bibs_json(photo.bibs),
                int(photo.uploaded_ts.timestamp()),
                photo.uploaded_filename,
                _sizes_json(photo),
                time.time(),
            )
        )

    def has_files(self, race_id: int, race_event_days_id: int) -> bool:
        """Whether any file of that race day was ever recorded."""
        row = self._conn.execute(
            "SELECT 1 FROM files WHERE race_id=? AND race_event_days_id=? LIMIT 1",
            (race_id, race_event_days_id),
        ).fetchone()
        return row is not None

    def files_of(
        self, race_id: int, race_event_days_id: int, photo_id: int
    ) -> dict[str, FileRecord]:
        """What was written of a photo's files (rows still queued are not seen)."""
        rows = self._conn.execute(
            "SELECT size, status, path, bytes, sha256, error, image FROM files"
            " WHERE race_id=? AND race_event_days_id=? AND photo_id=?",
            (race_id, race_event_days_id, photo_id),
        ).fetchall()
        return {row[0]: FileRecord(*row[1:]) for row in rows}

    def queue_file(
        self,
        race_id: int,
        race_event_days_id: int,
        photo_id: int,
        size: str,
        *,
        status: str,
        path: str | None = None,
        nbytes: int | None = None,
        sha256: str | None = None,
        error: str | None = None,
        image: str | None = None,
    ) -> None:
        """Record one size of one photo at the next ``flush()``. A ``done`` row must only be
        queued once its file is durable under its final name (fsynced, renamed, directory
        fsynced): the manifest never claims a file that a crash could take back."""
        self._files.append(
            (race_id, race_event_days_id, photo_id, size, status, path, nbytes, sha256, error,
             time.time(), image)
        )  # fmt: skip

    @property
    def queued(self) -> int:
        """Rows waiting for ``flush()``."""
        return len(self._photos) + len(self._files)

    def flush(self) -> None:
        """Write every queued row in one transaction (photos first, then their files)."""
        if not self._photos and not self._files:
            return
        photos, files = self._photos, self._files
        self._photos, self._files = [], []
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(_UPSERT_PHOTO, photos)  # the triggers keep the bib index
            conn.executemany(_UPSERT_FILE, files)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # --- race days and runs ------------------------------------------------------------

    def high_water(self, race_id: int, race_event_days_id: int) -> datetime | None:
        row = self._conn.execute(
            "SELECT high_water_ts FROM race_days WHERE race_id=? AND race_event_days_id=?",
            (race_id, race_event_days_id),
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return datetime.fromtimestamp(row[0], tz=timezone.utc)

    def mark_race_day_done(
        self, race_id: int, race_event_days_id: int, newest: datetime | None
    ) -> None:
        """A race day listed completely and downloaded without failure: move its mark."""
        ts = None if newest is None else int(newest.timestamp())
        self._conn.execute(
            "INSERT INTO race_days VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
            " high_water_ts=max(coalesce(race_days.high_water_ts, excluded.high_water_ts),"
            " coalesce(excluded.high_water_ts, race_days.high_water_ts)),"
            " last_success_at=excluded.last_success_at",
            (race_id, race_event_days_id, ts, time.time()),
        )

    def start_run(self) -> int:
        cursor = self._conn.execute("INSERT INTO runs (started_at) VALUES (?)", (time.time(),))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def finish_run(self, run_id: int, outcome: str) -> None:
        self._conn.execute(
            "UPDATE runs SET finished_at=?, outcome=? WHERE run_id=?",
            (time.time(), outcome, run_id),
        )

    # --- queries -----------------------------------------------------------------------

    def photos_by_bib(self, bib: int) -> list[BibHit]:
        return list(self._bib_hits("WHERE b.bib = ?", (bib,)))

    def bib_index(self) -> Iterator[BibHit]:
        """Every (bib, photo) pair, ordered by bib then photo; streamed, not loaded."""
        return self._bib_hits("", ())

    def _bib_hits(self, where: str, args: tuple[Any, ...]) -> Iterator[BibHit]:
        rows = self._conn.execute(
            "SELECT b.bib, p.race_id, p.race_event_days_id, p.photo_id, p.album_id,"
            " p.uploaded_ts, p.uploaded_filename,"
            " (SELECT json_group_object(f.size, f.path) FROM files f WHERE f.race_id=p.race_id"
            "  AND f.race_event_days_id=p.race_event_days_id AND f.photo_id=p.photo_id"
            "  AND f.status='done')"
            f" FROM bibs b JOIN photos p USING (race_id, race_event_days_id, photo_id) {where}"
            " ORDER BY b.bib, p.race_id, p.race_event_days_id, p.photo_id",
            args,
        )
        for row in rows:
            bib, race_id, days_id, photo_id, album_id, uploaded_ts, filename, files = row
            yield BibHit(
                bib=bib,
                race_id=race_id,
                race_event_days_id=days_id,
                photo_id=photo_id,
                album_id=album_id,
                uploaded_ts=uploaded_ts,
                uploaded_filename=filename,
                files=json.loads(files or "{}"),
            )

    def counts(self) -> dict[str, int]:
        """Files by status, for a quick look at a destination."""
        rows = self._conn.execute("SELECT status, count(*) FROM files GROUP BY status")
        return dict(rows)
