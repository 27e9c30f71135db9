"""Fault injection and throttling, each mode doing what it says."""

from __future__ import annotations

import time

import aiohttp
import pytest

from runsignup_async.testing import FakeRunSignup, Fault, Throttle

PHOTOS = "/v2/photos/get-race-photos.json"
ACTIVITIES = "/v2/vr-activities.json"
PAYLOAD = {"activities": [{"tally_split_date": "2020-07-25"}]}


@pytest.fixture
def event(fake, day) -> dict[str, int]:
    return {"race_id": day["race_id"], "event_id": fake.event_ids(day["race_id"])[0]}


async def test_status_fault_with_retry_after(api, fake, day) -> None:
    fake.faults.add(Fault.status(503, retry_after=1), endpoint="get-race-photos", times=2)
    for _ in range(2):
        status, body, headers = await api.call("GET", PHOTOS, day)
        assert status == 503 and headers["Retry-After"] == "1" and "error" not in body
    status, body, _ = await api.call("GET", PHOTOS, day)
    assert status == 200 and "photos" in body
    assert fake.request_counts["get-race-photos"] == 3


async def test_status_fault_only_hits_its_endpoint(api, fake, day) -> None:
    fake.faults.add(Fault.status(500), endpoint="vr-activities")
    status, _, headers = await api.call("GET", PHOTOS, day)
    assert status == 200 and "Retry-After" not in headers


@pytest.mark.parametrize("status", [502, 200])
async def test_html_page(api, fake, day, status) -> None:
    fake.faults.add(Fault.html(status), times=1)
    got, body, headers = await api.call("GET", PHOTOS, day)
    assert got == status and body.startswith("<!DOCTYPE html>")
    assert headers["Content-Type"].startswith("text/html")


async def test_reset_before_processes_nothing(api, fake, event) -> None:
    fake.faults.add(Fault.reset_before(), endpoint="vr-activities", times=1)
    with pytest.raises(aiohttp.ClientError):
        await api.post(ACTIVITIES, event, payload=PAYLOAD)
    assert fake.processed_posts == []
    assert await api.post(ACTIVITIES, event, payload=PAYLOAD) == {"tally_split_nums": [1]}


async def test_reset_after_processes_but_answers_nothing(api, fake, event) -> None:
    fake.faults.add(Fault.reset_after(), endpoint="vr-activities", times=1)
    with pytest.raises(aiohttp.ClientError):
        await api.post(ACTIVITIES, event, payload=PAYLOAD)
    assert len(fake.processed_posts) == 1
    assert await api.post(ACTIVITIES, event, payload=PAYLOAD) == {"tally_split_nums": [2]}


async def test_truncated_body(api, fake, day, session) -> None:
    fake.faults.add(Fault.truncated(), endpoint="get-race-photos", times=1)
    params, headers = api.auth("v2")
    query = {**params, **{k: str(v) for k, v in day.items()}, "format": "json"}
    async with session.get(fake.base_url + PHOTOS, params=query, headers=headers) as response:
        declared = response.content_length
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    assert declared is not None and declared > 1000
    assert "photos" in await api.get(PHOTOS, day)


async def test_slow_fault_and_base_latency(api, fake, day) -> None:
    fake.faults.add(Fault.slow(0.2), times=1)
    started = time.monotonic()
    await api.get(PHOTOS, day)
    assert time.monotonic() - started >= 0.2
    fake.latency = 0.05
    started = time.monotonic()
    await api.get(PHOTOS, day)
    assert 0.05 <= time.monotonic() - started < 0.5


async def test_schedule_skip_and_clear(api, fake, day) -> None:
    rule = fake.faults.add(Fault.status(500), skip=1, times=1)
    statuses = [(await api.call("GET", PHOTOS, day))[0] for _ in range(3)]
    assert statuses == [200, 500, 200] and rule.fired == 1
    fake.faults.add(Fault.status(502))
    assert (await api.call("GET", PHOTOS, day))[0] == 502
    fake.faults.clear()
    assert (await api.call("GET", PHOTOS, day))[0] == 200


async def test_seeded_probability_is_reproducible(api_for) -> None:
    patterns = []
    for _ in range(2):
        async with FakeRunSignup(seed=1, races=1, photos_per_race_day=1) as fake:
            fake.faults.add(Fault.status(503), probability=0.5, seed=7)
            race_id, days_id = fake.race_days()[0]
            day = {"race_id": race_id, "race_event_days_id": days_id}
            api = api_for(fake)
            patterns.append([(await api.call("GET", PHOTOS, day))[0] for _ in range(12)])
    assert patterns[0] == patterns[1] and {200, 503} == set(patterns[0])


def test_fault_plan_refuses_bad_probability() -> None:
    with pytest.raises(ValueError, match="probability"):
        FakeRunSignup(seed=0, races=0).faults.add(Fault.slow(1), probability=2.0)


async def test_throttle_error14(api, fake, day) -> None:
    fake.set_throttle(Throttle(per_second=0.001, burst=2))
    bodies = [(await api.call("GET", PHOTOS, day)) for _ in range(4)]
    assert [b[0] for b in bodies] == [200] * 4
    assert ["photos" in b[1] for b in bodies] == [True, True, False, False]
    assert bodies[2][1] == {"error": {"error_code": 14, "error_msg": "Request throttled."}}
    assert fake.throttled_count == 2
    # Another key has its own bucket.
    assert "albums" in await api.get("/v2/photos/get-race-photo-albums.json", day, mode="api")
    fake.set_throttle(None)
    assert "photos" in await api.get(PHOTOS, day)


async def test_throttle_http429_with_retry_after(api, fake, day) -> None:
    fake.set_throttle(Throttle(per_second=0.001, burst=1, mode="http429", retry_after=2.5))
    assert (await api.call("GET", PHOTOS, day))[0] == 200
    status, body, headers = await api.call("GET", PHOTOS, day)
    assert status == 429 and headers["Retry-After"] == "2.5"
    assert body["error"]["error_code"] == 14
    fake.set_throttle(Throttle(per_second=0.001, burst=1, mode="http429"))
    await api.call("GET", PHOTOS, day)
    status, _, headers = await api.call("GET", PHOTOS, day)
    assert status == 429 and "Retry-After" not in headers


async def test_throttle_refills(api, fake, day) -> None:
    fake.set_throttle(Throttle(per_second=50, burst=1))
    await api.get(PHOTOS, day)
    assert (await api.get(PHOTOS, day))["error"]["error_code"] == 14
    time.sleep(0.05)  # noqa: ASYNC251 - the bucket refills on the monotonic clock only
    assert "photos" in await api.get(PHOTOS, day)


def test_throttle_validates() -> None:
    with pytest.raises(ValueError, match="per_second"):
        Throttle(per_second=0)
    with pytest.raises(ValueError, match="mode"):
        Throttle(per_second=1, mode="drop")  # type: ignore[arg-type]


async def test_reset_stats(api, fake, day) -> None:
    fake.set_throttle(Throttle(per_second=0.001, burst=1))
    await api.get(PHOTOS, day)
    await api.get(PHOTOS, day)
    assert fake.request_counts["get-race-photos"] == 2 and fake.throttled_count == 1
    fake.reset_stats()
    assert fake.request_counts["get-race-photos"] == 0 and fake.throttled_count == 0
