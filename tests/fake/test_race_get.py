"""The fake's ``GET /race/{race_id}``: the read dialect, every auth mode, and its failures."""

from __future__ import annotations

import pytest

from runsignup_async.testing import FakeRunSignup, Fault, Throttle


async def test_answers_the_race_with_every_event_in_the_read_dialect(fake, api) -> None:
    race_id = fake.race_days()[0][0]
    fake.add_race_day(race_id, events=2)
    stored = fake.races[race_id]
    answer = await api.get(f"/race/{race_id}", {})
    race = answer["race"]
    assert race["race_id"] == race_id and race["name"] == stored["name"]
    assert race["is_draft_race"] == stored["draft_race"]
    assert race["address"] == stored["address"] and race["timezone"] == stored["timezone"]
    assert "url_string" not in race and race["url"].endswith(stored["url_string"])
    assert [(e["event_id"], e["race_event_days_id"]) for e in race["events"]] == [
        (e["event_id"], e["race_event_days_id"]) for e in stored["events"]
    ]
    assert len({e["race_event_days_id"] for e in race["events"]}) == 2
    # "2020-07-25 08:30:00" stored, M/D/YYYY HH:MM answered (FACTS.md).
    assert {e["start_time"] for e in race["events"]} == {"7/25/2020 08:30"}


@pytest.mark.parametrize("mode", ["v2", "api", "sp", "tmp", "bearer"])
async def test_every_mode_reads_it_and_none_without_credentials(fake, api, mode) -> None:
    race_id = fake.race_days()[0][0]
    assert (await api.get(f"/race/{race_id}", {}, mode=mode))["race"]["race_id"] == race_id
    refused = await api.get(f"/race/{race_id}", {}, mode="none")
    assert refused["error"]["error_code"] == 6


async def test_unknown_race_bad_id_and_wrong_method(fake, api) -> None:
    assert (await api.get("/race/999999", {}))["error"]["error_code"] == 15
    assert (await api.get("/race/abc", {}))["error"]["error_code"] == 3
    assert (await api.get("/race/1", {"race_event_days_id": 2}))["error"]["error_code"] == 3
    race_id = fake.race_days()[0][0]
    assert (await api.post(f"/race/{race_id}", {}))["error"]["error_code"] == 2
    assert fake.request_counts["get-race"] == 4


async def test_key_limited_to_other_races_is_refused(fake, api) -> None:
    race_id, other = (r for r, _ in fake.race_days()[:2])
    fake.add_v2_key("limited", "limited-secret", race_ids=[other])
    secret = {"X-RSU-API-SECRET": "limited-secret"}
    key = {"rsu_api_key": "limited"}
    refused = await api.get(f"/race/{race_id}", key, mode="none", headers=secret)
    assert refused["error"]["error_code"] == 7
    allowed = await api.get(f"/race/{other}", key, mode="none", headers=secret)
    assert allowed["race"]["race_id"] == other


async def test_faults_and_throttle_apply_as_to_every_endpoint(api_for) -> None:
    async with FakeRunSignup(seed=2, races=1) as fake:
        api = api_for(fake)
        race_id = fake.race_days()[0][0]
        fake.faults.add(Fault.status(503), endpoint="get-race", times=1)
        status, _, _ = await api.call("GET", f"/race/{race_id}", {})
        assert status == 503
        assert (await api.get(f"/race/{race_id}", {}))["race"]["race_id"] == race_id
        fake.set_throttle(Throttle(per_second=0.001, burst=1))
        assert "race" in await api.get(f"/race/{race_id}", {})
        throttled = await api.get(f"/race/{race_id}", {})
        assert throttled["error"]["error_code"] == 14
