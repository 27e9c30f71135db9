"""One test, both sinks: a harvest destination as the tests see it, read and tampered with
directly (SQLite, or moto through boto3), never through the code under test."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from runsignup_async.harvester import MANIFEST_NAME
from runsignup_async.harvester.sinks import bucket_manifest
from runsignup_async.testing import FakeRunSignup

from .conftest import check_files, check_objects
from .s3server import MotoS3

# The object metadata the bucket sink sends with each image (its own record of it):
# "<bytes> <image>".
IMAGE_META = "runsignup-image"


class Dest:
    """Where a test harvests: ``url`` for ``harvest()``, ``options`` for its keywords."""

    kind: str
    url: str
    options: dict[str, Any]

    def read(self, key: str) -> bytes | None:
        raise NotImplementedError

    def overwrite(self, key: str, data: bytes) -> None:
        """Other bytes under ``key``, written by someone else (no record of ours)."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def record(self, race_id: int, day_id: int, photo_id: int, size: str) -> dict[str, Any]:
        """What the destination recorded of a file: key, bytes, image ({} if nothing)."""
        raise NotImplementedError

    def drop_record(self, race_id: int, day_id: int, photo_id: int, size: str) -> None:
        """As if the run that stored the file had been killed before recording it."""
        raise NotImplementedError

    def stale(self, race_id: int, day_id: int, photo_id: int, size: str, image: str) -> None:
        """As if the stored file were of another image: every record of it says so."""
        raise NotImplementedError

    def check(self, fake: FakeRunSignup, sizes: tuple[str, ...]) -> int:
        raise NotImplementedError


class DirectoryDest(Dest):
    kind = "directory"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)
        self.options = {}

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / MANIFEST_NAME, isolation_level=None)

    def read(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.exists() else None

    def overwrite(self, key: str, data: bytes) -> None:
        (self.root / key).write_bytes(data)

    def delete(self, key: str) -> None:
        (self.root / key).unlink()

    def record(self, race_id: int, day_id: int, photo_id: int, size: str) -> dict[str, Any]:
        with self._db() as db:
            row = db.execute(
                "SELECT path, bytes, image FROM files WHERE race_id=? AND race_event_days_id=?"
                " AND photo_id=? AND size=? AND status='done'",
                (race_id, day_id, photo_id, size),
            ).fetchone()
        return {} if row is None else {"key": row[0], "bytes": row[1], "image": row[2]}

    def drop_record(self, race_id: int, day_id: int, photo_id: int, size: str) -> None:
        with self._db() as db:
            db.execute(
                "DELETE FROM files WHERE race_id=? AND race_event_days_id=? AND photo_id=?"
                " AND size=?",
                (race_id, day_id, photo_id, size),
            )

    def stale(self, race_id: int, day_id: int, photo_id: int, size: str, image: str) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE files SET image=? WHERE race_id=? AND race_event_days_id=?"
                " AND photo_id=? AND size=?",
                (image, race_id, day_id, photo_id, size),
            )

    def check(self, fake: FakeRunSignup, sizes: tuple[str, ...]) -> int:
        return check_files(fake, self.root, sizes)


class BucketDest(Dest):
    kind = "bucket"
    prefix = "photos"

    def __init__(self, moto: MotoS3, bucket: str) -> None:
        self.moto = moto
        self.bucket = bucket
        self.url = f"s3://{bucket}/{self.prefix}"
        self.options = {"s3_endpoint": moto.endpoint}

    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}"

    def read(self, key: str) -> bytes | None:
        if self._full(key) not in self.moto.keys(self.bucket, self._full(key)):
            return None
        return self.moto.get(self.bucket, self._full(key))

    def overwrite(self, key: str, data: bytes) -> None:
        self.moto.put(self.bucket, self._full(key), data)

    def delete(self, key: str) -> None:
        self.moto.delete(self.bucket, self._full(key))

    def _manifest(self, race_id: int, day_id: int) -> tuple[str, dict[str, Any]]:
        key = self._full(bucket_manifest.manifest_key(race_id, day_id))
        return key, json.loads(self.moto.get(self.bucket, key))

    def record(self, race_id: int, day_id: int, photo_id: int, size: str) -> dict[str, Any]:
        _, doc = self._manifest(race_id, day_id)
        entry = doc["photos"].get(str(photo_id), {"files": {}})
        found: dict[str, Any] = entry["files"].get(size, {})
        return {k: found[k] for k in ("key", "bytes", "image") if k in found}

    def drop_record(self, race_id: int, day_id: int, photo_id: int, size: str) -> None:
        key, doc = self._manifest(race_id, day_id)
        del doc["photos"][str(photo_id)]["files"][size]
        self.moto.put(self.bucket, key, json.dumps(doc).encode())

    def stale(self, race_id: int, day_id: int, photo_id: int, size: str, image: str) -> None:
        key, doc = self._manifest(race_id, day_id)
        record = doc["photos"][str(photo_id)]["files"][size]
        record["image"] = image
        self.moto.put(self.bucket, key, json.dumps(doc).encode())
        # The object's own record too, as a put of that other image would have left it.
        image_key = self._full(record["key"])
        data = self.moto.get(self.bucket, image_key)
        self.moto.put(self.bucket, image_key, data,
                      {IMAGE_META: f"{len(data)} {image}"})  # fmt: skip

    def check(self, fake: FakeRunSignup, sizes: tuple[str, ...]) -> int:
        return check_objects(fake, self.moto, self.bucket, self.prefix, sizes)
