"""Shared helpers of the harvest tests: a fast client on a fake, and file checks."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

from runsignup_async import Client, RateLimit
from runsignup_async.harvester import _sync as sync_module
from runsignup_async.harvester.layout import is_temp_name
from runsignup_async.testing import FakeRunSignup

from .s3server import MotoS3

if TYPE_CHECKING:
    from .dests import Dest

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


def expected_images(fake: FakeRunSignup, sizes: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    """(key under the destination, bytes) of every image the fake holds in ``sizes``."""
    for race_id, day_id in fake.race_days():
        for photo in fake.photos(race_id, day_id):
            for size in sizes:
                name = f"{photo['album_id']}/{photo['photo_id']}-{size}.jpg"
                yield f"{race_id}/{day_id}/{name}", fake.image_bytes(photo["photo_id"], size)


def check_files(fake: FakeRunSignup, dest: Path, sizes: tuple[str, ...]) -> int:
    """Every photo of every race day is on disk, byte-identical; returns the file count."""
    files = image_files(dest)
    expected = 0
    for rel, want in expected_images(fake, sizes):
        assert rel in files, f"missing {rel}"
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


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3()
    try:
        yield server
    finally:
        server.stop()


# Not the fake's: the store's own credentials, which must never reach the image host.
AWS_KEY_ID = "AKIAHARVESTTESTKEY01"
AWS_SECRET = "harvest-test-store-secret-value"


@pytest.fixture
def bucket(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new empty bucket; the standard AWS settings point at moto's credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in ("AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return moto_s3.new_bucket()


def check_objects(
    fake: FakeRunSignup, moto: MotoS3, bucket: str, prefix: str, sizes: tuple[str, ...]
) -> int:
    """Every photo of every race day is an object, byte-identical; returns the count."""
    stored = moto.image_keys(bucket, prefix)
    expected = 0
    for rel, want in expected_images(fake, sizes):
        key = f"{prefix}/{rel}"
        assert key in stored, f"missing {key}"
        assert moto.get(bucket, key) == want, key
        expected += 1
    assert len(stored) == expected, "objects that no photo accounts for"
    return expected


async def harvest_then_sigkill(
    fake: FakeRunSignup, dest: str, *options: str, far_enough: Callable[[], bool]
) -> None:
    """Run ``runsignup-async harvest`` of every race day of ``fake`` into ``dest`` in a
    child process, and SIGKILL it once ``far_enough()`` (asserting it was still running)."""
    creds = fake.credentials
    env = {**os.environ, "RUNSIGNUP_RSU_API_KEY": creds.rsu_api_key,
           "RUNSIGNUP_RSU_API_SECRET": creds.rsu_api_secret}  # fmt: skip
    races = [f"--race={r}:{d}" for r, d in fake.race_days()]
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "runsignup_async.cli", "harvest", *races, "--dest", dest, *options,
        "--base-url", fake.base_url, "--rate", "500", "--quiet",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(1500):
            await asyncio.sleep(0.01)
            if far_enough() or child.returncode is not None:
                break
        assert child.returncode is None, "the child finished before it could be killed"
        child.send_signal(signal.SIGKILL)
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
        assert child.stderr is not None
        await child.stderr.read()
    assert child.returncode == -signal.SIGKILL


BAD_NAMES = ("../../x.jpg", "/etc/passwd", "..\\..\\y.jpg", "a/../../z.jpg", "\x00.jpg", "")


def give_photos_bad_names(fake: FakeRunSignup) -> None:
    """The first race day's photos get ``uploaded_filename``s that are paths out (six)."""
    day = fake.data.days[fake.race_days()[0]]
    day.photos = [
        attrs.evolve(p, uploaded_filename=n) for p, n in zip(day.photos, BAD_NAMES, strict=True)
    ]
    for photo in day.photos:
        fake.data.photo_index[photo.photo_id] = photo
    day.reindex()


def api_secrets(fake: FakeRunSignup) -> list[str]:
    """The fake's API credentials: none may ever reach the image host or the store."""
    creds = fake.credentials
    return [creds.rsu_api_key, creds.rsu_api_secret, creds.api_key, creds.api_secret]


@pytest.fixture(params=["directory", "bucket"])
def dest(request: pytest.FixtureRequest, tmp_path: Path) -> Dest:
    """The test runs once per sink: a local directory, then a bucket on moto."""
    from .dests import BucketDest, DirectoryDest  # it uses this module's checks

    if request.param == "directory":
        return DirectoryDest(tmp_path / "harvest")
    return BucketDest(request.getfixturevalue("moto_s3"), request.getfixturevalue("bucket"))
