"""POST /race: the page's create and edit examples, replace semantics, signature checks."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from runsignup_async.auth import protected_api_signature
from runsignup_async.testing import FakeRunSignup


# The pages' examples have events in 2014: past, so they need the flag (else error 227).
@pytest.fixture
def create_example(page_json) -> dict[str, Any]:
    example: dict[str, Any] = page_json("create-or-edit-race", "New Race Examples")
    example["allow_past_event_creation"] = "T"
    return example


@pytest.fixture
def edit_example(page_json) -> dict[str, Any]:
    example: dict[str, Any] = page_json("create-or-edit-race", "Edit Race Examples")
    assert example["allow_past_event_creation"] == "F"
    example["allow_past_event_creation"] = "T"
    return example


class Poster:
    def __init__(self, api: Any) -> None:
        self.api = api
        self.signer = api.fake.signer()

    async def __call__(self, payload: Any, mode: str = "tmp", **params: Any) -> Any:
        params.setdefault("protected_api_signature", self.signer.sign())
        return await self.api.post("/race", params, payload=payload, mode=mode)


@pytest.fixture
def post_race(api) -> Poster:
    return Poster(api)


async def test_create_example(post_race, fake, create_example) -> None:
    body = await post_race(create_example)
    race_id = body["race"]["race_id"]
    events = body["race"]["events"]
    assert len(events) == 2 and all(isinstance(e["event_id"], int) for e in events)
    stored = fake.races[race_id]
    assert stored["url_string"] == "MyRaceUrl" and stored["timezone"] == "America/New_York"
    assert [e["name"] for e in stored["events"]] == ["8K", "Half Marathon"]
    assert (race_id, events[0]["race_event_days_id"]) in fake.race_days()
    assert fake.processed_posts[-1].endpoint == "race"


async def test_create_defaults_timezone_and_accepts_tmp_key(
    post_race, fake, create_example
) -> None:
    del create_example["timezone"]
    body = await post_race(create_example, mode="tmp")
    assert fake.races[body["race"]["race_id"]]["timezone"] == "America/New_York"


async def test_duplicate_url_string_is_216(post_race, fake, create_example) -> None:
    await post_race(create_example)
    create_example["url_string"] = "myraceurl"
    body = await post_race(create_example)
    assert body == {"error": {"error_code": 216, "error_msg": "Race URL is already in use."}}
    assert len(fake.processed_posts) == 1


async def test_edit_example_replaces_the_race(
    post_race, fake, create_example, edit_example
) -> None:
    created = (await post_race(create_example))["race"]
    race_id = created["race_id"]
    edit = copy.deepcopy(edit_example)
    edit["events"][0]["event_id"] = created["events"][0]["event_id"]
    edit["events"][1]["event_id"] = created["events"][1]["event_id"]
    edit["events"][1]["name"] = "Marathon"
    del edit["address"]["street"]
    body = await post_race(edit, race_id=race_id)
    assert body["race"]["race_id"] == race_id
    stored = fake.races[race_id]
    assert stored["contact_email"] is None  # left out, so removed
    assert stored["url_string"] == "MyRaceUrl"
    assert "street" not in stored["address"]
    assert [e["name"] for e in stored["events"]] == ["8K", "Marathon"]


async def test_edit_deletes_or_preserves_missing_events(post_race, fake, create_example) -> None:
    created = (await post_race(create_example))["race"]
    race_id, (first, second) = created["race_id"], created["events"]
    edit = copy.deepcopy(create_example)
    del edit["url_string"]
    edit["events"] = [{**create_example["events"][0], "event_id": first["event_id"]}]
    body = await post_race(edit, race_id=race_id, preserve_missing_events="T")
    assert [e["event_id"] for e in body["race"]["events"]] == [
        first["event_id"],
        second["event_id"],
    ]
    body = await post_race(edit, race_id=race_id)
    assert [e["event_id"] for e in body["race"]["events"]] == [first["event_id"]]
    # New events only: a renewal, on a new race event day.
    edit["events"] = [{"name": "5K", "start_time": "2015-06-06 08:00:00"}]
    body = await post_race(edit, race_id=race_id)
    (renewed,) = body["race"]["events"]
    assert renewed["race_event_days_id"] != first["race_event_days_id"]


async def test_edit_ignores_url_string(post_race, fake, create_example) -> None:
    race_id = (await post_race(create_example))["race"]["race_id"]
    edit = copy.deepcopy(create_example)
    edit["url_string"] = "SomethingElse"
    edit["events"] = []
    await post_race(edit, race_id=race_id, preserve_missing_events="T")
    assert fake.races[race_id]["url_string"] == "MyRaceUrl"


async def test_flat_response_shape(api_for, create_example) -> None:
    async with FakeRunSignup(seed=1, race_response="flat") as fake:
        body = await Poster(api_for(fake))(create_example)
        assert set(body) == {"race_id", "event_ids"} and len(body["event_ids"]) == 2


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda r: r.pop("name"), 3),
        (lambda r: r.pop("url_string"), 3),
        (lambda r: r["address"].pop("city"), 3),
        (lambda r: (r["address"].pop("state"), r["address"].pop("country_code")), 3),
        (lambda r: r.update(events=[]), 3),
        (lambda r: r.update(draft_race="maybe"), 222),
        (lambda r: r["events"][0].update(start_time="6/7/2014 8:30"), 9),
    ],
)
async def test_create_validation(post_race, fake, create_example, change, code) -> None:
    change(create_example)
    body = await post_race(create_example)
    assert body["error"]["error_code"] == code
    assert fake.processed_posts == []


async def test_create_still_works_without_state_when_country_given(
    post_race, create_example
) -> None:
    del create_example["address"]["state"]
    assert "race" in await post_race(create_example)


async def test_edit_unknown_race_or_event(post_race, fake, create_example, edit_example) -> None:
    assert (await post_race(edit_example, race_id=1))["error"]["error_code"] == 15
    race_id = (await post_race(create_example))["race"]["race_id"]
    body = await post_race(edit_example, race_id=race_id)  # event ids 123/124 are not its own
    assert body["error"]["error_code"] == 15


def _sign(fake: FakeRunSignup, *, ts: int | None = None, nonce: str = "abcd1234",
          secret: str | None = None, signer_id: str | None = None) -> str:  # fmt: skip
    c = fake.credentials
    return protected_api_signature(
        signer_id or c.signer_id,
        secret or c.signer_secret,
        int(time.time()) if ts is None else ts,
        nonce,
    )


async def test_signature_checks(post_race, fake, create_example) -> None:
    now = int(time.time())
    bad = [
        _sign(fake, secret="wrong-secret"),
        _sign(fake, ts=now - 301),
        _sign(fake, ts=now + 400),
        _sign(fake, signer_id="999"),
        _sign(fake, nonce="short"),
        "not-a-signature",
        "",
    ]
    for mode in ("api", "tmp", "v2", "sp", "bearer"):
        for signature in bad:
            body = await post_race(create_example, mode=mode, protected_api_signature=signature)
            assert body["error"]["error_code"] == 6, (mode, signature)
    body = await post_race(create_example, protected_api_signature=_sign(fake, nonce="Nonce123"))
    assert "race" in body
    create_example["url_string"] = "Another"
    replay = await post_race(create_example, protected_api_signature=_sign(fake, nonce="Nonce123"))
    assert replay["error"] == {
        "error_code": 6,
        "error_msg": "protected_api_signature nonce already used.",
    }
    assert len(fake.processed_posts) == 1


@pytest.mark.parametrize("mode", ["tmp", "api", "v2", "sp", "bearer"])
async def test_keys_of_any_mode_with_a_signature_are_accepted(
    post_race, fake, create_example, mode
) -> None:
    create_example["url_string"] = f"Keyed-{mode}"
    body = await post_race(create_example, mode=mode)
    assert fake.races[body["race"]["race_id"]]["url_string"] == f"Keyed-{mode}"


async def test_race_auth_modes(post_race, fake, create_example) -> None:
    alone = await post_race(create_example, mode="none")  # a signature, no keys
    assert alone["error"]["error_code"] == 6
    wrong_tmp = {"tmp_key": fake.credentials.tmp_key, "tmp_secret": "nope"}
    assert (await post_race(create_example, mode="none", **wrong_tmp))["error"]["error_code"] == 6
    unsigned = await post_race(create_example, protected_api_signature="")
    assert unsigned["error"]["error_code"] == 6
    assert fake.processed_posts == []


async def test_two_key_modes_or_keys_refused_before_the_nonce_is_spent(
    post_race, fake, create_example
) -> None:
    two_modes = {"api_key": fake.credentials.api_key, "api_secret": fake.credentials.api_secret}
    assert (await post_race(create_example, **two_modes))["error"]["error_code"] == 6
    # A request refused for its keys has not spent its signature's nonce.
    signature = _sign(fake, nonce="KeepMe12")
    refused = await post_race(create_example, mode="none", protected_api_signature=signature)
    assert refused["error"]["error_code"] == 6 and fake.processed_posts == []
    assert "race" in await post_race(create_example, protected_api_signature=signature)


async def test_another_signer_is_accepted(post_race, fake, create_example) -> None:
    fake.add_signer("77", "other-secret")
    signature = _sign(fake, signer_id="77", secret="other-secret")
    assert "race" in await post_race(create_example, protected_api_signature=signature)


async def test_generated_races_are_inspectable(fake) -> None:
    race_id, days_id = fake.race_days()[0]
    race = fake.races[race_id]
    assert race["race_id"] == race_id
    assert {e["race_event_days_id"] for e in race["events"]} == {days_id}
