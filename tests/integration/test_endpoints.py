"""Every endpoint coroutine against ``FakeRunSignup`` over real loopback HTTP.

Success paths compare the SDK's results with the fake's stored data; error paths cover
authentication failure (6), permission denied (7), invalid ids (15), a duplicate race URL
(216), throttling (error 14 and HTTP 429), and the retry rules for non-idempotent POSTs:
a POST is re-sent only when the server provably did not process it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import attrs
import pytest
from aiohttp import web

from runsignup_async import (
    ApiKeyAuth,
    AuthenticationError,
    Client,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimit,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    ServerError,
    TempKeyAuth,
    TransportError,
    V2KeyAuth,
    ValidationError,
    _convert,
    _shapes,
)
from runsignup_async._endpoint_table import ENDPOINTS as TABLE
from runsignup_async.auth import Auth, ProtectedApiSigner
from runsignup_async.models import NOT_GIVEN, Activity, Address, Event, Race, TeamType
from runsignup_async.testing import FakeRunSignup, Fault, Throttle

# --- helpers -------------------------------------------------------------------------------


def new_race(url_string: str = "IntegrationRace", **changes: Any) -> Race:
    race = Race(
        name="Integration Race",
        url_string=url_string,
        draft_race=True,
        address=Address(street="300 Mill St.", city="Moorestown", state="NJ", country_code="US"),
        timezone="America/New_York",
        events=[
            Event(
                name="5K",
                start_time=datetime(2030, 6, 7, 8, 30),
                event_type="running_race",
                distance=5,
                distance_units="K",
            ),
            Event(
                name="Half Marathon",
                start_time=datetime(2030, 6, 7, 9, 0),
                event_type="running_race",
                distance=13.1,
                distance_units="M",
                age_calc_base_date=date(2030, 12, 31),
            ),
        ],
    )
    return attrs.evolve(race, **changes)


ACTIVITIES = [
    Activity(
        tally_split_date="2020-07-25",
        result_split_tally_value=1,
        split_elevation_gain_in_mm=1002000,
        tally_split_comment="Running at the park",
        submitted_time_in_ms=1234556,
        virtual_race_activity_type_id=6,
    ),
    Activity(
        tally_split_date=date(2020, 7, 25),
        result_split_tally_value=2.5,
        validated_pace=False,
    ),
]


def site_url(fake: FakeRunSignup) -> str:
    return fake.base_url.removesuffix("/rest")


def posts(fake: FakeRunSignup, endpoint: str) -> list[Any]:
    return [p for p in fake.processed_posts if p.endpoint == endpoint]


# --- success paths -------------------------------------------------------------------------


async def test_get_albums_returns_the_stored_albums(fake, client_for, day) -> None:
    race_id, days_id = day
    albums = await client_for(fake.v2_auth()).photos.get_albums(
        race_id=race_id, race_event_days_id=days_id
    )
    expected = fake.data.albums_json(fake.data.days[day], site_url(fake))
    assert _convert.unstructure(albums) == expected
    assert any(a.album_id == f"reg-{days_id}" for a in albums)  # participant uploads
    assert all(a.race_event_days_id == days_id for a in albums)


@pytest.mark.runsignup_fake(photos_per_race_day=25)
async def test_get_photos_pages_match_the_stored_photos(fake, client_for, day) -> None:
    race_id, days_id = day
    client = client_for(fake.v2_auth())
    stored = fake.photos(race_id, days_id)
    assert len(stored) == 25
    pages = [
        await client.photos.get_photos(
            race_id=race_id, race_event_days_id=days_id, page=page, num=10
        )
        for page in (1, 2, 3, 4)
    ]
    assert [len(p) for p in pages] == [10, 10, 5, 0]
    listed = [photo for page in pages for photo in page]
    assert all(photo.race_id == race_id for photo in listed)
    as_json = _convert.unstructure(listed)
    for document in as_json:
        assert document.pop("race_id") == race_id  # set by the SDK, not part of the answer
    assert as_json == stored


async def test_get_photos_filters_reach_the_server(fake, client_for, day) -> None:
    race_id, days_id = day
    client = client_for(fake.v2_auth())
    stored = fake.photos(race_id, days_id)
    without_uploads = await client.photos.get_photos(
        race_id=race_id, race_event_days_id=days_id, include_participant_uploads=False
    )
    assert [p.photo_id for p in without_uploads] == [
        p["photo_id"] for p in stored if not isinstance(p["album_id"], str)
    ]
    album = next(p["album_id"] for p in stored if isinstance(p["album_id"], int))
    in_album = await client.photos.get_photos(
        race_id=race_id, race_event_days_id=days_id, album_id=album
    )
    assert in_album and {p.album_id for p in in_album} == {album}
    cutoff = sorted(p["uploaded_ts"] for p in stored)[len(stored) // 2]
    recent = await client.photos.get_photos(
        race_id=race_id, race_event_days_id=days_id, uploaded_since=cutoff
    )
    assert [p.photo_id for p in recent] == [
        p["photo_id"] for p in stored if p["uploaded_ts"] >= cutoff
    ]


async def test_submit_activities_stores_them(fake, client_for, day) -> None:
    race_id = day[0]
    event_id = fake.event_ids(race_id)[0]
    client = client_for(fake.v2_auth())
    nums = await client.activities.submit(race_id=race_id, event_id=event_id, activities=ACTIVITIES)
    assert nums == [1, 2]
    assert fake.activities[(race_id, event_id, "self")] == [
        _convert.unstructure(a) for a in ACTIVITIES
    ]
    again = await client.activities.submit(
        race_id=race_id, event_id=event_id, activities=ACTIVITIES[:1], registration_id=77
    )
    assert again == [1]
    assert len(fake.activities[(race_id, event_id, "reg:77")]) == 1
    by_bib = await client.activities.submit(
        race_id=race_id, event_id=event_id, activities=ACTIVITIES, bib_num=12
    )
    assert by_bib == [1, 2]
    assert len(posts(fake, "vr-activities")) == 3
    assert fake.processed_posts[0].payload == _shapes.activities_payload(ACTIVITIES)


async def test_set_team_types_replaces_the_set(fake, client_for, day) -> None:
    race_id, days_id = day
    client = client_for(fake.v2_auth())
    first = [
        TeamType(team_type="Competitive", min_members=2, max_members=None, allow_coed_team=False),
        TeamType(team_type="Social", team_type_desc="For fun", valid_event_ids=[]),
    ]
    ids = await client.teams.set_team_types(
        race_id=race_id, race_event_days_id=days_id, team_types=first
    )
    stored = fake.team_types[day]
    assert [t["team_type_id"] for t in stored] == ids and len(set(ids)) == 2
    assert stored[0] == {"team_type_id": ids[0], **_convert.unstructure(first[0])}
    assert stored[0]["allow_coed_team"] == "F" and stored[0]["max_members"] is None
    # Keep the first (edited, by id), drop the second, add a new one: really replaced.
    second = [
        attrs.evolve(first[0], team_type_id=ids[0], team_type="Competitive (edited)"),
        TeamType(team_type="Family"),
    ]
    new_ids = await client.teams.set_team_types(
        race_id=race_id, race_event_days_id=days_id, team_types=second
    )
    assert new_ids[0] == ids[0] and new_ids[1] not in ids
    assert [(t["team_type_id"], t["team_type"]) for t in fake.team_types[day]] == [
        (ids[0], "Competitive (edited)"),
        (new_ids[1], "Family"),
    ]
    emptied = await client.teams.set_team_types(
        race_id=race_id, race_event_days_id=days_id, team_types=[], allow_delete_all=True
    )
    assert emptied == [] and fake.team_types[day] == []


async def test_create_race_then_read_it_back(fake, client_for) -> None:
    race = new_race()
    result = await client_for(fake.temp_auth()).races.create(race)
    stored = fake.races[result.race_id]
    assert [e["event_id"] for e in stored["events"]] == list(result.event_ids)
    assert len(result.event_ids) == 2
    payload = _shapes.race_payload(race)
    for key in ("name", "url_string", "draft_race", "address", "timezone"):
        assert stored[key] == payload[key]
    for sent, kept in zip(payload["events"], stored["events"], strict=True):
        assert {k: kept[k] for k in sent} == sent


async def test_a_signature_without_credentials_is_refused_before_sending(fake, client_for) -> None:
    with pytest.raises(ValidationError, match="race takes TempKeyAuth, V2KeyAuth") as info:
        await client_for(None).races.create(new_race("SignedOnly"))
    assert info.value.field == "auth" and "no credentials" in str(info.value)
    assert fake.request_counts["race"] == 0


async def test_edit_race_replaces_it(fake, client_for) -> None:
    client = client_for(fake.temp_auth())
    created = await client.races.create(new_race("EditMe", contact_email="a@example.com"))
    kept_event = attrs.evolve(new_race().events[0], event_id=created.event_ids[0], name="5K (new)")
    edited = new_race(NOT_GIVEN, name="Renamed Race", events=[kept_event], contact_email=NOT_GIVEN)
    result = await client.races.edit(race_id=created.race_id, race=edited)
    assert result.race_id == created.race_id
    assert result.event_ids == created.event_ids[:1]  # the event left out is deleted
    stored = fake.races[created.race_id]
    assert stored["name"] == "Renamed Race"
    assert stored["url_string"] == "EditMe"  # an edit never changes it
    assert stored["contact_email"] is None  # left out: nulled, as the page warns
    assert [(e["event_id"], e["name"]) for e in stored["events"]] == [
        (created.event_ids[0], "5K (new)")
    ]
    preserved = await client.races.edit(
        race_id=created.race_id,
        race=attrs.evolve(edited, events=[Event(name="10K", start_time="2030-06-08 08:00:00",
                                                event_type="running_race")],
                          preserve_missing_events=True),
    )  # fmt: skip
    assert preserved.event_ids[0] == created.event_ids[0] and len(preserved.event_ids) == 2


# Every auth mode each endpoint's page lists works against the fake.
def _calls(fake: FakeRunSignup) -> dict[str, Callable[[Client], Awaitable[Any]]]:
    race_id, days_id = fake.race_days()[0]
    event_id = fake.event_ids(race_id)[0]
    return {
        "get-race-photo-albums": lambda c: c.photos.get_albums(
            race_id=race_id, race_event_days_id=days_id
        ),
        "get-race-photos": lambda c: c.photos.get_photos(
            race_id=race_id, race_event_days_id=days_id
        ),
        "vr-activities": lambda c: c.activities.submit(
            race_id=race_id, event_id=event_id, activities=ACTIVITIES
        ),
        "team-types": lambda c: c.teams.set_team_types(
            race_id=race_id, race_event_days_id=days_id, team_types=[TeamType(team_type="T")]
        ),
        "race": lambda c: c.races.create(new_race(f"ModeRace{len(fake.races)}")),
        "get-race": lambda c: c.races.get(race_id),
    }


_AUTH_OF = {
    "ApiKeyAuth": "api_key_auth",
    "TempKeyAuth": "temp_auth",
    "V2KeyAuth": "v2_auth",
    "SuperPartnerAuth": "super_partner_auth",
    "BearerAuth": "bearer_auth",
}


@pytest.mark.parametrize(
    ("endpoint", "mode"),
    [(e.name, m.__name__) for e in TABLE.values() for m in e.auth],
)
async def test_every_listed_auth_mode_succeeds(fake, client_for, endpoint, mode) -> None:
    auth = getattr(fake, _AUTH_OF[mode])()
    result = await _calls(fake)[endpoint](client_for(auth))
    assert result
    assert fake.request_counts[endpoint] == 1


# --- unverified response shapes, and garbage -----------------------------------------------


@pytest.mark.runsignup_fake(race_response="flat")
async def test_flat_race_answer_parses(fake, client_for) -> None:
    result = await client_for(fake.temp_auth()).races.create(new_race("FlatRace"))
    assert posts(fake, "race")[0].response == {
        "race_id": result.race_id,
        "event_ids": list(result.event_ids),
    }
    assert fake.races[result.race_id]["url_string"] == "FlatRace"


@pytest.mark.runsignup_fake(team_types_response="race_team_types")
async def test_race_team_types_answer_parses(fake, client_for, day) -> None:
    ids = await client_for(fake.v2_auth()).teams.set_team_types(
        race_id=day[0], race_event_days_id=day[1], team_types=[TeamType(team_type="A")]
    )
    assert posts(fake, "team-types")[0].response == {"race_team_types": [{"team_type_id": ids[0]}]}
    assert [t["team_type_id"] for t in fake.team_types[day]] == ids


GARBAGE: list[tuple[str, Any, str]] = [
    ("/rest/v2/photos/get-race-photo-albums.json", {"albums": {"album_id": 1}}, "$.albums"),
    ("/rest/v2/photos/get-race-photos.json", {"photos": [{"photo_id": "1"}]}, "$.photos[0]"),
    ("/rest/v2/vr-activities.json", {"tally_split_num": [1]}, "$.tally_split_nums"),
    ("/rest/race/1/teams/team-types", {"race_team_types": [{"id": 5}]}, "$.race_team_types[0]"),
    ("/rest/race", {"race": {"id": 9, "events": []}}, "$.race"),
    ("/rest/race", {"race_id": 9}, "$.events"),
    ("/rest/race", [1, 2], "$"),
    (
        "/rest/race/1",
        {"race": {"race_id": 1, "name": "R", "events": {"event_id": 2}}},
        "$.race.events",
    ),
]


@pytest.fixture
async def garbage_server() -> AsyncIterator[str]:
    """A loopback server answering each endpoint with a wrong-shaped (but valid) JSON."""
    answers: dict[str, list[Any]] = {}
    for path, document, _where in GARBAGE:
        answers.setdefault(path, []).append(document)

    async def handle(request: web.Request) -> web.Response:
        return web.json_response(answers[request.path].pop(0))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/rest"
    await runner.cleanup()


async def test_wrong_shapes_are_response_decode_errors(garbage_server) -> None:
    calls: list[Callable[[Client], Awaitable[Any]]] = [
        lambda c: c.photos.get_albums(race_id=1, race_event_days_id=2),
        lambda c: c.photos.get_photos(race_id=1, race_event_days_id=2),
        lambda c: c.activities.submit(race_id=1, event_id=2, activities=ACTIVITIES),
        lambda c: c.teams.set_team_types(
            race_id=1, race_event_days_id=2, team_types=[TeamType(team_type="A")]
        ),
        lambda c: c.races.create(new_race()),
        lambda c: c.races.edit(race_id=9, race=new_race(NOT_GIVEN)),
        lambda c: c.races.create(new_race()),
        lambda c: c.races.get(1),
    ]
    async with Client(
        V2KeyAuth("k", "s"),
        base_url=garbage_server,
        signer=ProtectedApiSigner("1", "s"),
        retry=RetryPolicy(max_attempts=1),
    ) as client:
        for (path, document, where), call in zip(GARBAGE, calls, strict=True):
            with pytest.raises(ResponseDecodeError) as caught:
                await call(client)
            assert caught.value.reason.startswith(f"unexpected response shape at {where}"), (
                caught.value.reason
            )
            # The whole URL, as every ResponseDecodeError has it, with the key redacted.
            assert urlsplit(caught.value.url).path == path, document
            assert "=***" in caught.value.url and "=s&" not in caught.value.url + "&"


async def test_a_misfit_answer_quoting_secrets_is_reported_scrubbed() -> None:  # issue 15 #6
    """A server echoing the client's secret in a wrong-shaped answer: the error names the
    field and quotes the photo, with the secret and any signed-URL credential scrubbed."""
    secret = "s3cr3t-value-7890"
    signed = "https://img.test/p.jpg?X-Amz-Signature=0123abcd4567"
    answer = {
        "photos": [
            {"photo_id": 5, "album_id": secret, "original": {"image_url": signed}},
        ]
    }

    async def handle(request: web.Request) -> web.Response:
        return web.json_response(answer)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with Client(V2KeyAuth("key-123456", secret), base_url=base_url) as client:
            with pytest.raises(ResponseDecodeError) as caught:
                await client.photos.get_photos(race_id=1, race_event_days_id=2)
    finally:
        await runner.cleanup()
    error = caught.value
    text = f"{error} {error.snippet} {error.reason} {error!r}"
    assert secret not in text and "0123abcd4567" not in text and "key-123456" not in text
    assert error.reason.startswith("unexpected response shape at $.photos[0].")
    assert '"photo_id": 5' in error.snippet


# --- error paths, for every endpoint -------------------------------------------------------

ENDPOINTS = [
    "get-race-photo-albums", "get-race-photos", "vr-activities", "team-types", "race", "get-race"
]  # fmt: skip


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_wrong_secret_is_authentication_error(fake, client_for, endpoint) -> None:
    creds = fake.credentials
    wrong: Auth = {
        "get-race-photo-albums": ApiKeyAuth(creds.api_key, "not-the-secret"),
        "get-race-photos": V2KeyAuth(creds.rsu_api_key, "not-the-secret"),
        "vr-activities": V2KeyAuth(creds.rsu_api_key, "not-the-secret"),
        "team-types": V2KeyAuth(creds.rsu_api_key, "not-the-secret"),
        "race": TempKeyAuth(creds.tmp_key, "not-the-secret"),
        "get-race": ApiKeyAuth(creds.api_key, "not-the-secret"),
    }[endpoint]
    with pytest.raises(AuthenticationError) as caught:
        await _calls(fake)[endpoint](client_for(wrong))
    assert caught.value.error_code == 6
    assert "not-the-secret" not in str(caught.value)
    assert fake.request_counts[endpoint] == 1  # not retried
    assert fake.processed_posts == []


async def test_wrong_signing_secret_is_authentication_error(fake, client_for) -> None:
    signer = ProtectedApiSigner(fake.credentials.signer_id, "not-the-signing-secret")
    with pytest.raises(AuthenticationError) as caught:
        await client_for(fake.temp_auth(), signer=signer).races.create(new_race())
    assert caught.value.error_code == 6
    assert fake.processed_posts == [] and fake.request_counts["race"] == 1


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_key_limited_to_other_races_is_permission_denied(fake, client_for, endpoint) -> None:
    race_id = fake.race_days()[0][0]
    other = [r for r in fake.races if r != race_id]
    if endpoint == "race":
        # The race endpoint takes only tmp keys, and the fake grants tmp keys publicly to
        # every race; a limited one is added through its keyring (not public API).
        fake._state.keyring.add("tmp", "limited-tmp", "limited-secret", other)
        client = client_for(TempKeyAuth("limited-tmp", "limited-secret"))
        created = await client_for(fake.temp_auth()).races.create(new_race("Permission"))
        call = client.races.edit(race_id=created.race_id, race=new_race(NOT_GIVEN))
        fake.reset_stats()
    else:
        fake.add_v2_key("limited-key", "limited-secret", race_ids=other)
        call = _calls(fake)[endpoint](client_for(V2KeyAuth("limited-key", "limited-secret")))
    with pytest.raises(PermissionDeniedError) as caught:
        await call
    assert caught.value.error_code == 7
    assert fake.processed_posts == [] and fake.request_counts[endpoint] == 1


UNKNOWN = 999_999


async def test_unknown_ids_are_invalid_request_errors(fake, client_for, day) -> None:
    race_id, days_id = day
    event_id = fake.event_ids(race_id)[0]
    v2 = client_for(fake.v2_auth())
    calls: list[tuple[str, Awaitable[Any]]] = [
        ("get-race-photo-albums", v2.photos.get_albums(
            race_id=UNKNOWN, race_event_days_id=days_id)),
        ("get-race-photo-albums", v2.photos.get_albums(
            race_id=race_id, race_event_days_id=UNKNOWN)),
        ("get-race-photos", v2.photos.get_photos(race_id=UNKNOWN, race_event_days_id=days_id)),
        ("get-race-photos", v2.photos.get_photos(
            race_id=race_id, race_event_days_id=days_id, album_id=UNKNOWN)),
        ("vr-activities", v2.activities.submit(
            race_id=UNKNOWN, event_id=event_id, activities=ACTIVITIES)),
        ("vr-activities", v2.activities.submit(
            race_id=race_id, event_id=UNKNOWN, activities=ACTIVITIES)),
        ("team-types", v2.teams.set_team_types(
            race_id=UNKNOWN, race_event_days_id=days_id, team_types=[TeamType(team_type="A")])),
        ("team-types", v2.teams.set_team_types(
            race_id=race_id, race_event_days_id=days_id,
            team_types=[TeamType(team_type="A", team_type_id=UNKNOWN)])),
        ("race", client_for(fake.temp_auth()).races.edit(
            race_id=UNKNOWN, race=new_race(NOT_GIVEN))),
        ("get-race", v2.races.get(UNKNOWN)),
        ("race", client_for(fake.temp_auth()).races.edit(
            race_id=race_id,
            race=new_race(NOT_GIVEN, events=[attrs.evolve(new_race().events[0],
                                                          event_id=UNKNOWN)]))),
    ]  # fmt: skip
    for endpoint, call in calls:
        before = fake.request_counts[endpoint]
        with pytest.raises(InvalidRequestError) as caught:
            await call
        assert caught.value.error_code == 15, endpoint
        assert fake.request_counts[endpoint] == before + 1, endpoint  # never retried
    assert fake.processed_posts == []


async def test_duplicate_url_string_is_error_216(fake, client_for) -> None:
    client = client_for(fake.temp_auth())
    taken = next(iter(fake.races.values()))["url_string"]
    races_before = dict(fake.races)
    with pytest.raises(InvalidRequestError) as caught:
        await client.races.create(new_race(taken.lower()))  # the check ignores case
    assert caught.value.error_code == 216
    assert fake.races == races_before and fake.processed_posts == []
    assert fake.request_counts["race"] == 1
    created = await client.races.create(new_race("BrandNew"))
    with pytest.raises(InvalidRequestError) as again:
        await client.races.create(new_race("BrandNew", name="Another"))
    assert again.value.error_code == 216
    assert [r for r in fake.races.values() if r["url_string"] == "BrandNew"] == [
        fake.races[created.race_id]
    ]


# --- throttling and the retry rules ----------------------------------------------------------

# The fake refills a token every 0.2 s, so a second call made at once is throttled even on
# a loaded machine, and eight attempts (about 1.3 s of backoff) outlast the refill.
THROTTLE_RETRY = RetryPolicy(max_attempts=8, backoff_initial=0.05, backoff_max=0.2)
THROTTLE = 5.0


@pytest.mark.parametrize("mode", ["error14", "http429"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_throttled_call_is_retried_and_processed_once(
    fake, client_for, endpoint, mode
) -> None:
    auth = fake.temp_auth() if endpoint == "race" else fake.v2_auth()
    # A fixed-rate limiter: the adaptive one slows down after a throttle (see the test below).
    fixed = RateLimit(per_second=10_000, burst=100, adaptive=False)
    client = client_for(auth, retry=THROTTLE_RETRY, rate_limit=fixed)
    call = _calls(fake)[endpoint]
    fake.set_throttle(Throttle(per_second=THROTTLE, burst=1, mode=mode))
    await call(client)  # takes the only token
    result = await call(client)  # throttled at first, then retried after the refill
    assert result
    assert fake.throttled_count >= 1
    assert fake.request_counts[endpoint] == 2 + fake.throttled_count
    if not TABLE[endpoint].idempotent:
        assert len(posts(fake, endpoint)) == 2  # each call applied exactly once


async def test_throttle_with_the_default_adaptive_limiter(fake, client_for, day) -> None:
    client = client_for(fake.v2_auth(), retry=THROTTLE_RETRY)
    fake.set_throttle(Throttle(per_second=THROTTLE, burst=1))
    for _ in range(2):
        albums = await client.photos.get_albums(race_id=day[0], race_event_days_id=day[1])
        assert _convert.unstructure(albums) == fake.data.albums_json(
            fake.data.days[day], site_url(fake)
        )
    assert fake.throttled_count >= 1
    assert fake.request_counts["get-race-photo-albums"] == 2 + fake.throttled_count


async def test_throttled_without_retries_raises_rate_limit_error(fake, client_for, day) -> None:
    client = client_for(fake.v2_auth(), retry=RetryPolicy(max_attempts=1))
    fake.set_throttle(Throttle(per_second=0.001, burst=1))
    await client.photos.get_albums(race_id=day[0], race_event_days_id=day[1])
    with pytest.raises(RateLimitError) as caught:
        await client.photos.get_albums(race_id=day[0], race_event_days_id=day[1])
    assert caught.value.error_code == 14 and caught.value.status == 200


POSTS = ["vr-activities", "team-types", "race"]


@pytest.mark.parametrize("endpoint", POSTS)
async def test_post_reset_after_processing_is_not_resent(fake, client_for, endpoint) -> None:
    auth = fake.temp_auth() if endpoint == "race" else fake.v2_auth()
    fake.faults.add(Fault.reset_after(), endpoint=endpoint, times=1)
    with pytest.raises(TransportError) as caught:
        await _calls(fake)[endpoint](client_for(auth))
    assert caught.value.request_sent
    assert fake.request_counts[endpoint] == 1
    assert len(posts(fake, endpoint)) == 1  # processed, once, though no answer came


@pytest.mark.parametrize("endpoint", POSTS)
async def test_post_reset_before_processing_is_raised_not_resent(
    fake, client_for, endpoint
) -> None:
    """A reset before the handler ran looks, to a client, exactly like one after it ran
    (the request went out, the connection died before any answer): the SDK cannot prove
    nothing was processed, so it raises rather than risk applying the POST twice. The
    fake shows nothing was applied, and the caller's own retry is applied once."""
    auth = fake.temp_auth() if endpoint == "race" else fake.v2_auth()
    client = client_for(auth)
    fake.faults.add(Fault.reset_before(), endpoint=endpoint, times=1)
    with pytest.raises(TransportError) as caught:
        await _calls(fake)[endpoint](client)
    assert caught.value.request_sent
    assert fake.request_counts[endpoint] == 1 and posts(fake, endpoint) == []
    assert await _calls(fake)[endpoint](client)
    assert fake.request_counts[endpoint] == 2 and len(posts(fake, endpoint)) == 1


async def test_post_refused_connection_is_resent(client_for, fake) -> None:
    """A connection that never opened provably sent nothing: the POST is retried."""
    attempts = []

    async def on_request(event: Any) -> None:
        attempts.append(event.attempt)

    async with FakeRunSignup() as down:
        closed_url = down.base_url
    client = client_for(fake.v2_auth(), base_url=closed_url, on_request=on_request)
    with pytest.raises(TransportError) as caught:
        await _calls(fake)["vr-activities"](client)
    assert not caught.value.request_sent
    assert attempts == [1, 2, 3, 4]  # every attempt of FAST_RETRY
    assert fake.request_counts["vr-activities"] == 0


async def test_post_server_error_is_not_resent_but_get_is(fake, client_for, day) -> None:
    client = client_for(fake.v2_auth())
    fake.faults.add(Fault.status(500), times=1)
    with pytest.raises(ServerError):
        await _calls(fake)["vr-activities"](client)
    assert fake.request_counts["vr-activities"] == 1 and fake.processed_posts == []
    fake.faults.add(Fault.status(502), times=1)
    albums = await client.photos.get_albums(race_id=day[0], race_event_days_id=day[1])
    assert albums and fake.request_counts["get-race-photo-albums"] == 2


async def test_get_reset_after_is_retried(fake, client_for, day) -> None:
    fake.faults.add(Fault.reset_after(), endpoint="get-race-photos", times=1)
    photos = await client_for(fake.v2_auth()).photos.get_photos(
        race_id=day[0], race_event_days_id=day[1]
    )
    assert [p.photo_id for p in photos] == [p["photo_id"] for p in fake.photos(*day)]
    assert fake.request_counts["get-race-photos"] == 2
