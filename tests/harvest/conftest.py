"""Shared helpers of the harvest tests: a fast client on a fake, and file checks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from runsignup_async import Client, RateLimit
from runsignup_async.harvester import _sync as sync_module
from runsignup_async.harvester.layout import is_temp_name
from runsignup_async.testing import FakeRunSignup

FINAL = r"^\d+/\d+/[A-Za-z0-9_-]+/\d+-(original|large|thumbnail)\.jpg$"


def fast_client(fake: FakeRunSignup, **options: object) -> Client:
    """A client that lists as fast as the local fake allows."""
    return Client(
        fake.v2_auth(),
        base_url=fake.base_url,
        rate_limit=RateLimit(per_second=2000, burst=200),
        max_concurrency=8,
        **options,  # type: ignore[arg-type]
    )


def image_files(dest: Path) -> dict[str, Path]:
    """Final image files under dest, by path relative to dest."""
    return {
        p.relative_to(dest).as_posix(): p
        for p in dest.rglob("*")
        if p.is_file() and p.suffix == ".jpg" and not is_temp_name(p.name)
    }


def all_paths(root: Path) -> list[Path]:
    return list(root.rglob("*"))


def temp_files(dest: Path) -> list[Path]:
    return [p for p in dest.rglob("*") if is_temp_name(p.name)]


def check_files(fake: FakeRunSignup, dest: Path, sizes: tuple[str, ...]) -> int:
    """Every photo of every race day is on disk, byte-identical; returns the file count."""
    files = image_files(dest)
    expected = 0
    for race_id, day_id in fake.race_days():
        for photo in fake.photos(race_id, day_id):
            for size in sizes:
                rel = f"{race_id}/{day_id}/{photo['album_id']}/{photo['photo_id']}-{size}.jpg"
                assert rel in files, f"missing {rel}"
                want = fake.image_bytes(photo["photo_id"], size)
                got = files[rel].read_bytes()
                assert hashlib.sha256(got).digest() == hashlib.sha256(want).digest(), rel
                expected += 1
    assert len(files) == expected, "files on disk that no photo accounts for"
    return expected


@pytest.fixture
def make_client() -> Callable[..., Client]:
    return fast_client


@pytest.fixture(params=["syncfs", "fsync"])
def durability(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each way the harvest makes files durable (see ``_sync``)."""
    if request.param == "fsync":
        monkeypatch.setattr(sync_module, "load_syncfs", lambda: None)
    elif sync_module.load_syncfs() is None:
        pytest.skip("syncfs cannot be trusted on this system: the harvest fsyncs per file")
    return str(request.param)
