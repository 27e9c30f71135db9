"""Bucket harvests from the command line, killed mid-run, and given bad destinations."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
import sys

import pytest

from runsignup_async import ValidationError
from runsignup_async.cli import main
from runsignup_async.harvester import StoreError, harvest
from runsignup_async.testing import FakeRunSignup, Fault

from .conftest import AWS_SECRET, api_secrets, check_objects, fast_client, harvest_then_sigkill
from .s3server import MotoS3


def _api_env(fake: FakeRunSignup) -> dict[str, str]:
    creds = fake.credentials
    return {"RUNSIGNUP_RSU_API_KEY": creds.rsu_api_key,
            "RUNSIGNUP_RSU_API_SECRET": creds.rsu_api_secret}  # fmt: skip


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.runsignup_fake(seed=21, races=3, photos_per_race_day=20, image_size=300_000)
async def test_sigkill_mid_harvest_leaves_only_whole_objects_and_resume_completes(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str
) -> None:
    fake = runsignup_fake
    fake.faults.add(Fault.slow(0.1), endpoint="images")  # keep the child busy long enough
    await harvest_then_sigkill(
        fake, f"s3://{bucket}/photos", "--s3-endpoint", moto_s3.endpoint,
        "--concurrency", "1", "--download-concurrency", "4",
        # Killed with a race day recorded and others under way.
        far_enough=lambda: bool(moto_s3.keys(bucket, "photos/_manifests/")),
    )  # fmt: skip
    # A PUT whose body had all arrived when the child died may still complete: let the
    # server finish what it received (an object is whole either way).
    await asyncio.sleep(0.5)
    left = moto_s3.image_keys(bucket, "photos")
    assert 10 <= len(left) < 60
    for key in left:  # whatever a killed run left is whole
        photo_id = int(key.rsplit("/", 1)[1].split("-")[0])
        assert moto_s3.get(bucket, key) == fake.image_bytes(photo_id, "original"), key
    claimed = 0
    for key in moto_s3.keys(bucket, "photos/_manifests/"):  # claims only whole objects
        for pid, entry in json.loads(moto_s3.get(bucket, key))["photos"].items():
            for record in entry["files"].values():
                data = moto_s3.get(bucket, f"photos/{record['key']}")
                assert len(data) == record["bytes"] and data == fake.image_bytes(
                    int(pid), "original"
                )
                assert hashlib.sha256(data).hexdigest() == record["sha256"]
                claimed += 1
    assert 0 < claimed < 60
    fake.faults.clear()
    fake.reset_stats()
    async with fast_client(fake) as client:
        summary = await harvest(client, fake.race_days(), f"s3://{bucket}/photos",
                                s3_endpoint=moto_s3.endpoint)  # fmt: skip
    assert summary.ok and summary.photos_skipped == len(left)
    assert fake.image_request_count == 60 - len(left)
    assert check_objects(fake, moto_s3, bucket, "photos", ("original",)) == 60
    assert fake.credential_leaks == []
    assert moto_s3.recorder.leaks(api_secrets(fake)) == []


@pytest.mark.runsignup_fake(seed=13, races=2, photos_per_race_day=25)
async def test_photos_by_bib_answers_from_the_bucket_alone(
    runsignup_fake: FakeRunSignup,
    moto_s3: MotoS3,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = runsignup_fake
    for name, value in _api_env(fake).items():
        monkeypatch.setenv(name, value)
    dest = f"s3://{bucket}/photos"
    races = [f"--race={r}:{d}" for r, d in fake.race_days()]
    argv = ["harvest", *races, "--dest", dest, "--s3-endpoint", moto_s3.endpoint,
            "--base-url", fake.base_url, "--rate", "500", "--quiet"]  # fmt: skip
    assert await asyncio.to_thread(main, argv) == 0
    capsys.readouterr()
    by_bib: dict[int, set[int]] = {}
    albums = {}
    for race_id, day_id in fake.race_days():
        for photo in fake.photos(race_id, day_id):
            albums[photo["photo_id"]] = (race_id, day_id, photo["album_id"])
            for bib in photo["bibs"]:
                by_bib.setdefault(int(bib), set()).add(photo["photo_id"])
    bib = max(by_bib, key=lambda b: (len(by_bib[b]), b))
    # From the environment's endpoint this time, as a machine that never harvested would.
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3.endpoint)
    assert await asyncio.to_thread(main, ["photos-by-bib", dest, "--bib", str(bib)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {hit["photo_id"] for hit in lines} == by_bib[bib] and len(lines) == len(by_bib[bib])
    for hit in lines:
        race_id, day_id, album = albums[hit["photo_id"]]
        assert hit["bib"] == bib and (hit["race_id"], hit["race_event_days_id"]) == (
            race_id,
            day_id,
        )
        assert hit["files"] == {
            "original": f"{dest}/{race_id}/{day_id}/{album}/{hit['photo_id']}-original.jpg"
        }
    assert await asyncio.to_thread(main, ["photos-by-bib", dest, "--bib", "999999"]) == 0
    assert "no photos of bib 999999" in capsys.readouterr().err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("problem", ["unknown bucket", "wrong credentials", "unreachable"])
@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=3)
async def test_a_bad_store_is_one_line_before_any_image_is_fetched(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str, problem: str
) -> None:
    fake = runsignup_fake
    endpoint, dest = moto_s3.endpoint, f"s3://{bucket}/photos"
    expected = {"unknown bucket": "NoSuchBucket", "wrong credentials": "InvalidAccessKeyId",
                "unreachable": "error sending request"}[problem]  # fmt: skip
    if problem == "unknown bucket":
        dest = "s3://no-such-bucket-here/photos"
    elif problem == "unreachable":
        endpoint = f"http://127.0.0.1:{_closed_port()}"
    auth = moto_s3.require_auth() if problem == "wrong credentials" else contextlib.nullcontext()
    async with fast_client(fake) as client:
        with auth, pytest.raises(StoreError) as caught:
            await harvest(client, fake.race_days(), dest, s3_endpoint=endpoint)
    message = str(caught.value)
    assert expected in message and "\n" not in message and AWS_SECRET not in message
    assert message.startswith(dest)
    assert fake.image_request_count == 0 and sum(fake.request_counts.values()) == 0


@pytest.mark.parametrize(
    "dest",
    ["s3://bkt/../photos", "s3://bkt/a/../../b", "s3://bkt/a//b", "s3://bkt/./a", "s3://Bad_Bucket/a",
     "s3://"],
)  # fmt: skip
async def test_a_bad_s3_destination_is_refused_before_anything_is_sent(
    moto_s3: MotoS3, dest: str
) -> None:
    from runsignup_async import Client

    before = len(moto_s3.recorder.seen)
    async with Client() as client:
        with pytest.raises(ValidationError, match="dest"):
            await harvest(client, [(1, 2)], dest, s3_endpoint=moto_s3.endpoint)
    assert len(moto_s3.recorder.seen) == before


async def test_without_the_s3_extra_an_s3_dest_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runsignup_async import Client

    monkeypatch.setitem(sys.modules, "obstore.store", None)  # as if not installed
    async with Client() as client:
        with pytest.raises(ValidationError, match=r"pip install 'runsignup-async\[s3\]'"):
            await harvest(client, [(1, 2)], "s3://bkt/photos")


def test_the_cli_prints_a_bad_store_as_one_line(
    moto_s3: MotoS3, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["photos-by-bib", "s3://no-such-bucket-here/p", "--bib", "1",
            "--s3-endpoint", moto_s3.endpoint]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NoSuchBucket" in err and err.startswith("runsignup-async")
