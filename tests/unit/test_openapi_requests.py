"""Every request the SDK's endpoint coroutines send is valid under the pages' OpenAPI specs.

How it works:

- The requests are captured on the wire: a recording aiohttp server on 127.0.0.1 answers
  each endpoint with a minimal success document and keeps the method, full URL, headers
  and body bytes exactly as they arrived (the multipart body included).
- The specs come from the page texts in ``tests/api_pages/``, never retyped here. Three
  pages (albums, vr-activities, team types) embed an OpenAPI block, which is extracted as
  is. Two pages (photos, race) have none; for them an equivalent spec is derived from the
  page's parameter table, which is parsed from the page text.
- Each recorded request is validated with ``openapi-core`` through a small request adapter
  (``WireRequest``), and additionally checked for undeclared names, because openapi-core
  ignores query parameters and form fields a spec does not declare: without that check a
  renamed *optional* parameter would pass.

Where the pages' OpenAPI blocks disagree with the documented reality, the spec is adjusted
by one of the explicit, documented functions in "Adjustments" below; nothing is skipped.
``test_validation_bites`` proves that a renamed, missing or mistyped parameter fails.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from datetime import date, datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import attrs
import pytest
from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.exceptions import OpenAPIError
from werkzeug.datastructures import Headers, ImmutableMultiDict
from yarl import URL

from runsignup_async import (
    ApiKeyAuth,
    Auth,
    BearerAuth,
    Client,
    ProtectedApiSigner,
    RateLimit,
    RetryPolicy,
    SuperPartnerAuth,
    TempKeyAuth,
    V2KeyAuth,
)
from runsignup_async.models import NOT_GIVEN, Activity, Address, Event, Race, TeamType

PAGES = Path(__file__).resolve().parents[1] / "api_pages"

# --- reading the pages ---------------------------------------------------------------------

_TABLE_HEADER = re.compile(
    r"\|?\s*Parameter\s*\|?\s*HTTP Method\s*\|?\s*Default\s*\|?\s*Description\s*\|?\s*Datatype"
    r"\s*\|?"
)
# A row starts with the parameter's name, "Required" (sometimes glued to the name), and
# where it travels; the row's last word is its datatype.
_ROW_HEAD = re.compile(
    r"(?<![\w-])(?P<name>[A-Za-z][\w-]*?)\s?(?P<required>Required)?\s"
    r"(?P<where>GET|POST|HTTP Header)\s"
)
_WHERE = {"GET": "query", "POST": "form", "HTTP Header": "header"}
_DATATYPES: dict[str, dict[str, Any]] = {
    "uint": {"type": "integer", "minimum": 0},
    "int": {"type": "integer"},
    "string": {"type": "string"},
    # FACTS.md: "Every method takes format = xml | json | csv".
    "format": {"type": "string", "enum": ["xml", "json", "csv"]},
}


@attrs.frozen
class TableRow:
    name: str
    required: bool
    where: str  # "query" (table: GET), "form" (table: POST) or "header" (table: HTTP Header)
    datatype: str


def page_text(page: str) -> str:
    return (PAGES / f"{page}.txt").read_text(encoding="utf-8")


def openapi_block(text: str) -> dict[str, Any] | None:
    """The OpenAPI document embedded in a page, or None when the page has none."""
    found = re.search(r"\{\s*\"openapi\"\s*:", text)
    if found is None:
        return None
    document, _end = json.JSONDecoder().raw_decode(text, found.start())
    assert isinstance(document, dict)
    return document


def parameter_table(text: str) -> dict[str, TableRow]:
    """Every row of every parameter table of a page, by parameter name.

    The pages render their tables either as plain lines or as pipe tables that wrap each
    row over several lines; both reduce to "name [Required] WHERE ... datatype" once the
    pipes and line breaks are collapsed. A table ends at a blank line or at a JSON block.
    """
    rows: dict[str, TableRow] = {}
    headers = list(_TABLE_HEADER.finditer(text))
    for header in headers:
        rest = text[header.end() :]
        end = min(
            (
                i
                for i in (rest.find("\n\n"), rest.find("{"), _next_start(header, headers))
                if i >= 0
            ),
            default=len(rest),
        )
        flat = " ".join(re.sub(r"-{3,}|\|", " ", rest[:end]).split()) + " "
        heads = list(_ROW_HEAD.finditer(flat))
        for head, after in zip(heads, [*heads[1:], None], strict=True):
            body = flat[head.end() : after.start() if after else len(flat)].split()
            name = head["name"]
            assert name not in rows, f"{name} listed twice"
            rows[name] = TableRow(name, bool(head["required"]), _WHERE[head["where"]], body[-1])
    return rows


def _next_start(header: re.Match[str], headers: list[re.Match[str]]) -> int:
    later = [h.start() - header.end() for h in headers if h.start() > header.end()]
    return min(later, default=-1)


def _schema(datatype: str) -> dict[str, Any]:
    return copy.deepcopy(_DATATYPES[datatype])


def _form_schema(datatype: str) -> dict[str, Any]:
    """A form field's schema: every multipart field is text, so a number is digits."""
    schema = _schema(datatype)
    if schema["type"] == "integer":
        minus = "" if schema.get("minimum") == 0 else "-?"
        return {"type": "string", "pattern": f"^{minus}[0-9]+$"}
    return schema


# --- the endpoints and their pages ---------------------------------------------------------


@attrs.frozen
class Endpoint:
    page: str
    method: str  # lower case, as OpenAPI keys operations
    path: str  # the OpenAPI path (template)
    title: str  # for a derived spec
    response: Any  # what the recording server answers


ENDPOINTS = {
    "albums": Endpoint(
        "get-race-photo-albums", "get", "/v2/photos/get-race-photo-albums.json", "", {"albums": []}
    ),
    "photos": Endpoint(
        "get-race-photos",
        "get",
        "/v2/photos/get-race-photos.json",
        "Get Race Photos",
        {"photos": []},
    ),
    "activities": Endpoint(
        "post-vr-activities", "post", "/v2/vr-activities.json", "", {"tally_split_nums": [1]}
    ),
    "team-types": Endpoint(
        "manage-race-team-types",
        "post",
        "/race/{race_id}/teams/team-types",
        "",
        {"team_type_ids": [1]},
    ),
    "race": Endpoint(
        "create-or-edit-race",
        "post",
        "/race",
        "Create or Edit Race",
        {"race_id": 9, "event_ids": [10]},
    ),
}


def _operation(spec: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = spec["paths"][endpoint.path][endpoint.method]
    return operation


def spec_from_table(endpoint: Endpoint, table: Mapping[str, TableRow]) -> dict[str, Any]:
    """An OpenAPI document equivalent to a page's parameter table (for pages without one).

    Table "GET" rows become query parameters, "HTTP Header" rows header parameters, and
    "POST" rows properties of a multipart/form-data body (FACTS.md: "RunSignup's own app
    sends them as multipart/form-data"). "Required" carries over; datatypes map through
    ``_DATATYPES`` (uint is a non-negative integer).
    """
    parameters = [
        {
            "name": row.name,
            "in": row.where,
            "required": row.required,
            "schema": _schema(row.datatype),
        }
        for row in table.values()
        if row.where in ("query", "header")
    ]
    operation: dict[str, Any] = {
        "parameters": parameters,
        "responses": {"200": {"description": "OK"}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": endpoint.title, "version": "derived from the page's parameter table"},
        "paths": {endpoint.path: {endpoint.method: operation}},
    }


# --- adjustments: where the pages' OpenAPI blocks and the documented reality differ -----


def serve_from(spec: dict[str, Any], base_url: str) -> None:
    """FACTS.md: the blocks' server ``https://runsignup.com/API`` is the documentation
    site, not the API (and one block lists ``api.runsignup.com``). Requests go to our
    base URL, so the spec is served from there."""
    spec["servers"] = [{"url": base_url}]


def add_format(operation: dict[str, Any]) -> None:
    """FACTS.md: "Every method takes ``format`` = xml | json | csv". The albums block and
    the photos table leave it out; the SDK always sends ``format=json``."""
    if not any(p["name"] == "format" for p in operation["parameters"]):
        operation["parameters"].append(
            {"name": "format", "in": "query", "required": False, "schema": _schema("format")}
        )


def form_body(operation: dict[str, Any], table: Mapping[str, TableRow]) -> None:
    """POST operations carry a multipart/form-data body holding every parameter the table
    marks "POST", plus ``request_format`` (FACTS.md: the payload travels in the form field
    ``request`` with ``request_format=json``; the vr-activities table omits the latter).

    The vr-activities block has no body at all and puts ``request`` "in: query"; the team
    types block puts ``race_event_days_id`` "in: query" though its table says POST. Such a
    parameter stays where the block declares it (so it may be sent there), and it is also a
    form property: ``WireRequest`` shows a form field of that name to openapi-core as the
    query parameter too ("a form field satisfies a parameter the table marks POST"). A
    required table row is required in the body unless the block declares it elsewhere,
    where openapi-core then checks it.
    """
    content = operation.setdefault("requestBody", {"required": True, "content": {}})["content"]
    schema = content.setdefault("multipart/form-data", {"schema": {"type": "object"}})["schema"]
    properties = schema.setdefault("properties", {})
    required = set(schema.get("required", []))
    declared = {p["name"] for p in operation["parameters"]}
    for row in table.values():
        if row.where == "form":
            properties.setdefault(row.name, _form_schema(row.datatype))
            if row.required and row.name not in declared:
                required.add(row.name)
    properties.setdefault("request_format", _schema("format"))
    schema.pop("required", None)
    if required:  # OpenAPI 3.0: "required" must not be an empty list
        schema["required"] = sorted(required)


def race_id_in_url(operation: dict[str, Any], text: str) -> None:
    """The race table marks ``race_id`` POST, but the page's prose says "Race ID as a
    race_id url parameter is required" (for an edit), which is where the SDK sends it. So
    the derived spec also accepts it as an optional query parameter."""
    assert "Race ID as a race_id url parameter is required" in text
    operation["parameters"].append(
        {"name": "race_id", "in": "query", "required": False, "schema": _schema("uint")}
    )


def keys_beside_the_signature(operation: dict[str, Any], text: str) -> None:
    """The race table lists ``tmp_key``/``tmp_secret`` beside ``protected_api_signature``;
    FACTS.md lists the credential modes for every method, and nothing on the page says the
    signature replaces a key. The SDK sends the client's credentials, in any mode, together
    with the signature, so the derived spec declares every mode's names as optional."""
    assert "protected_api_signature" in text
    for name, where in (
        ("api_key", "query"),
        ("api_secret", "query"),
        ("rsu_api_key", "query"),
        ("sp_api_key", "query"),
        ("X-RSU-API-SECRET", "header"),
        ("Authorization", "header"),
    ):
        operation["parameters"].append(
            {"name": name, "in": where, "required": False, "schema": _schema("string")}
        )


# Credential modes: the table rows that name them, and the security schemes they need.
_MODES: tuple[tuple[tuple[str, ...], dict[str, dict[str, Any]]], ...] = (
    (
        ("api_key", "api_secret"),
        {
            "apiKey": {"type": "apiKey", "in": "query", "name": "api_key"},
            "apiSecret": {"type": "apiKey", "in": "query", "name": "api_secret"},
        },
    ),
    (
        ("tmp_key", "tmp_secret"),
        {
            "tmpKey": {"type": "apiKey", "in": "query", "name": "tmp_key"},
            "tmpSecret": {"type": "apiKey", "in": "query", "name": "tmp_secret"},
        },
    ),
    (
        ("rsu_api_key", "X-RSU-API-SECRET"),
        {
            "rsuApiKey": {"type": "apiKey", "in": "query", "name": "rsu_api_key"},
            "secretHeader": {"type": "apiKey", "in": "header", "name": "X-RSU-API-SECRET"},
        },
    ),
    (
        ("sp_api_key", "X-RSU-API-SECRET"),
        {
            "spApiKey": {"type": "apiKey", "in": "query", "name": "sp_api_key"},
            "secretHeader": {"type": "apiKey", "in": "header", "name": "X-RSU-API-SECRET"},
        },
    ),
    (("Authorization",), {"bearer": {"type": "http", "scheme": "bearer"}}),
)


def security_from_table(
    spec: dict[str, Any], operation: dict[str, Any], table: Mapping[str, TableRow]
) -> None:
    """The blocks' ``security`` lists only ``api_key``/``api_secret`` (albums, activities:
    either one alone; team types: both), while their parameter tables and FACTS.md also
    list ``rsu_api_key``/``sp_api_key`` with the ``X-RSU-API-SECRET`` header, ``tmp_key``/
    ``tmp_secret`` and ``Authorization: Bearer``. Each mode whose rows are all in the table
    is added as one more alternative; the block's own alternatives stay."""
    if "security" not in operation:
        return
    schemes = spec["components"].setdefault("securitySchemes", {})
    for names, mode_schemes in _MODES:
        if all(name in table for name in names):
            schemes.update(mode_schemes)
            requirement = {scheme: [] for scheme in mode_schemes}
            if requirement not in operation["security"]:
                operation["security"].append(requirement)


@cache
def page_spec(name: str) -> tuple[dict[str, Any], frozenset[str]]:
    """The adjusted spec of one endpoint (server not yet set) and its declared names."""
    endpoint = ENDPOINTS[name]
    text = page_text(endpoint.page)
    table = parameter_table(text)
    block = openapi_block(text)
    spec = spec_from_table(endpoint, table) if block is None else block
    operation = _operation(spec, endpoint)
    add_format(operation)
    if endpoint.method == "post":
        form_body(operation, table)
    if name == "race":
        race_id_in_url(operation, text)
        keys_beside_the_signature(operation, text)
    security_from_table(spec, operation, table)
    declared = {p["name"] for p in operation["parameters"]}
    body = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data", {})
    declared |= set(body.get("schema", {}).get("properties", {}))
    return spec, frozenset(declared)


@cache
def openapi_for(name: str, base_url: str) -> OpenAPI:
    spec = copy.deepcopy(page_spec(name)[0])
    serve_from(spec, base_url)
    return OpenAPI.from_dict(spec)


# --- the request adapter ---------------------------------------------------------------------


@attrs.frozen
class Recorded:
    """One request as it arrived on the wire."""

    method: str
    url: str  # full, with the query string
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k.lower() == "content-type"), "")

    def query(self) -> list[tuple[str, str]]:
        return list(URL(self.url).query.items())

    def form(self) -> list[tuple[str, str]]:
        return form_fields(self.content_type, self.body)


def form_fields(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """The (name, value) fields of a multipart/form-data or urlencoded body."""
    if not body:
        return []
    if content_type.lower().startswith("application/x-www-form-urlencoded"):
        return parse_qsl(body.decode(), keep_blank_values=True)
    assert content_type.lower().startswith("multipart/form-data"), content_type
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str) and isinstance(payload, bytes)
        fields.append((name, payload.decode("utf-8")))
    return fields


class WireRequest:
    """A ``Recorded`` request as openapi-core's ``Request`` protocol.

    ``post_fields``: form field names that also satisfy a query parameter of the same
    name (see ``form_body``); such a field, when sent in the form only, is shown to
    openapi-core as a query parameter as well. The body itself is passed on unchanged.
    """

    def __init__(self, recorded: Recorded, *, post_fields: Iterable[str] = ()) -> None:
        url = URL(recorded.url)
        self.method = recorded.method.lower()
        self.host_url = f"{url.scheme}://{url.host}:{url.port}"
        self.path = url.path
        self.full_url_pattern = str(url.with_query(None))
        query = recorded.query()
        sent = {name for name, _ in query}
        query += [(n, v) for n, v in recorded.form() if n in set(post_fields) and n not in sent]
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=Headers(list(recorded.headers))
        )
        self.body = recorded.body or None
        self.content_type = recorded.content_type.lower()


CREDENTIAL_HEADERS = ("X-RSU-API-SECRET", "Authorization")


def undeclared(recorded: Recorded, declared: frozenset[str]) -> list[str]:
    """Names the spec does not declare, and names sent more than once.

    openapi-core ignores query parameters and form fields a spec does not declare; this
    makes a renamed optional parameter (or a stray credential) fail as well.
    """
    names = [n for n, _ in recorded.query()] + [n for n, _ in recorded.form()]
    names += [k for k, _ in recorded.headers if k in CREDENTIAL_HEADERS]
    problems = [f"undeclared: {n}" for n in names if n not in declared]
    problems += [f"sent twice: {n}" for n in sorted(set(names)) if names.count(n) > 1]
    return problems


def post_fields_of(name: str) -> frozenset[str]:
    """Table-POST parameters that the endpoint's spec declares in the query."""
    endpoint = ENDPOINTS[name]
    table = parameter_table(page_text(endpoint.page))
    operation = _operation(page_spec(name)[0], endpoint)
    in_query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    return frozenset(r.name for r in table.values() if r.where == "form" and r.name in in_query)


def validate(name: str, recorded: Recorded, base_url: str) -> None:
    """Raise if ``recorded`` is not a valid request of endpoint ``name``."""
    problems = undeclared(recorded, page_spec(name)[1])
    assert not problems, problems
    openapi_for(name, base_url).validate_request(
        WireRequest(recorded, post_fields=post_fields_of(name))
    )


# --- the recording server ------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.base_url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            Recorded(
                request.method,
                str(request.url),
                tuple(request.headers.items()),
                await request.read(),
            )
        )
        path = request.path.removeprefix("/rest")
        for endpoint in ENDPOINTS.values():
            if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", endpoint.path), path):
                return web.json_response(endpoint.response)
        return web.json_response({"error": {"error_code": 1, "error_msg": "Unknown method."}})


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    recording = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recording.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    recording.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}/rest"
    yield recording
    await runner.cleanup()


async def capture(
    recorder: Recorder, auth: Auth | None, call: Callable[[Client], Awaitable[Any]]
) -> Recorded:
    """The one request ``call`` sends through a client with ``auth``."""
    async with Client(
        auth,
        base_url=recorder.base_url,
        retry=RetryPolicy(max_attempts=1),
        rate_limit=RateLimit(per_second=10_000, burst=100),
        signer=ProtectedApiSigner("4242", "signing-secret"),
    ) as client:
        await call(client)
    (recorded,) = recorder.requests
    return recorded


# --- the requests the SDK sends ------------------------------------------------------------

API = ApiKeyAuth("api-key", "api-secret")
TMP = TempKeyAuth("tmp-key", "tmp-secret")
V2 = V2KeyAuth("rsu-key", "rsu-secret")
SP = SuperPartnerAuth("sp-key", "sp-secret")
BEARER = BearerAuth("access-token")

RACE = Race(
    name="Race Name",
    url_string="MyRaceUrl",
    draft_race=False,
    address=Address(street="300 Mill St.", city="Moorestown", state="NJ", country_code="US"),
    contact_email="example@example.com",
    timezone="America/New_York",
    events=[
        Event(
            name="8K",
            start_time=datetime(2014, 6, 7, 8, 30),
            event_type="running_race",
            distance=8,
            distance_units="K",
        )
    ],
)
EDITED = attrs.evolve(
    RACE,
    url_string=NOT_GIVEN,
    events=[attrs.evolve(RACE.events[0], event_id=123)],
    allow_past_event_creation=True,
)
ACTIVITY = Activity(
    tally_split_date=date(2020, 7, 25),
    result_split_tally_value=1,
    submitted_time_in_ms=1234556,
    validated_pace=False,
)
TEAM = TeamType(team_type="Competitive Team", min_members=0, max_members=None)

Call = Callable[[Client], Awaitable[Any]]
CASES: list[tuple[str, str, Auth | None, Call]] = [
    *[
        ("albums", f"albums-{type(a).__name__}", a,
         lambda c: c.photos.get_albums(race_id=1, race_event_days_id=2))
        for a in (API, V2)
    ],
    ("photos", "photos-defaults", V2,
     lambda c: c.photos.get_photos(race_id=1, race_event_days_id=2)),
    ("photos", "photos-every-option", V2,
     lambda c: c.photos.get_photos(
         race_id=1, race_event_days_id=2, page=3, num=50,
         uploaded_since=datetime(2020, 7, 1, tzinfo=timezone.utc),
         include_participant_uploads=False, album_id=21,
     )),
    ("photos", "iter_photos-first-page", V2,
     lambda c: c.photos.iter_photos(race_id=1, race_event_days_id=2, num=10, uploaded_since=5)),
    *[
        ("activities", f"activities-{type(a).__name__}", a,
         lambda c: c.activities.submit(race_id=1, event_id=3, activities=[ACTIVITY]))
        for a in (API, TMP, V2, SP)
    ],
    ("activities", "activities-registration_id", V2,
     lambda c: c.activities.submit(
         race_id=1, event_id=3, activities=[ACTIVITY, ACTIVITY], registration_id=77)),
    ("activities", "activities-bib_num", V2,
     lambda c: c.activities.submit(race_id=1, event_id=3, activities=[ACTIVITY], bib_num=12)),
    *[
        ("team-types", f"team-types-{type(a).__name__}", a,
         lambda c: c.teams.set_team_types(race_id=1, race_event_days_id=2, team_types=[TEAM]))
        for a in (API, V2, SP, BEARER)
    ],
    ("team-types", "team-types-delete-all", V2,
     lambda c: c.teams.set_team_types(
         race_id=1, race_event_days_id=2, team_types=[], allow_delete_all=True)),
    *[
        ("race", f"race-create-{type(a).__name__}", a, lambda c: c.races.create(RACE))
        for a in (TMP, API, V2, SP, BEARER)
    ],
    ("race", "race-edit-TempKeyAuth", TMP, lambda c: c.races.edit(race_id=5, race=EDITED)),
    ("race", "race-edit-V2KeyAuth", V2, lambda c: c.races.edit(race_id=5, race=EDITED)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "auth", "call"), [pytest.param(n, a, c, id=i) for n, i, a, c in CASES]
)
async def test_sdk_request_is_valid_under_the_page_spec(
    recorder: Recorder, name: str, auth: Auth | None, call: Call
) -> None:
    recorded = await capture(recorder, auth, call)
    path = ENDPOINTS[name].path.replace("{race_id}", "1")
    assert URL(recorded.url).path == "/rest" + path
    assert recorded.method == ENDPOINTS[name].method.upper()
    validate(name, recorded, recorder.base_url)


def test_every_endpoint_and_accepted_auth_mode_is_covered() -> None:
    from runsignup_async._endpoint_table import ENDPOINTS as TABLE

    covered = {(name, type(auth)) for name, _id, auth, _call in CASES if auth is not None}
    page_of = {
        "get-race-photo-albums": "albums",
        "get-race-photos": "photos",
        "vr-activities": "activities",
        "team-types": "team-types",
        "race": "race",
    }
    # The single-race GET's page is not among the pages we hold (tests/api_pages): there
    # is no spec to check its requests against. tests/fake/test_race_get.py checks its
    # wire form (path, format=json, each mode's credentials) against the fake.
    unspecified = {"get-race"}
    expected = {
        (page_of[e.name], mode)
        for e in TABLE.values()
        if e.name not in unspecified
        for mode in e.auth
    }
    assert expected <= covered


# --- the specs themselves ------------------------------------------------------------------


def test_parameter_tables_are_read_from_every_page() -> None:
    tables = {name: parameter_table(page_text(e.page)) for name, e in ENDPOINTS.items()}
    assert list(tables["photos"]) == [
        "race_id", "race_event_days_id", "rsu_api_key", "X-RSU-API-SECRET",
        "uploaded_since_timestamp", "page", "num", "include_participant_uploads",
        "generic_photo_album_id",
    ]  # fmt: skip
    assert tables["photos"]["rsu_api_key"] == TableRow("rsu_api_key", True, "query", "string")
    assert tables["photos"]["X-RSU-API-SECRET"].where == "header"
    assert tables["photos"]["page"] == TableRow("page", False, "query", "int")
    assert list(tables["race"]) == [
        "tmp_key", "tmp_secret", "format", "protected_api_signature",
        "request_format", "race_id", "request",
    ]  # fmt: skip
    assert tables["race"]["protected_api_signature"].required
    assert tables["race"]["request"] == TableRow("request", True, "form", "string")
    assert tables["race"]["race_id"] == TableRow("race_id", False, "form", "uint")
    assert tables["albums"]["race_id"] == TableRow("race_id", True, "query", "uint")
    assert tables["team-types"]["race_event_days_id"] == TableRow(
        "race_event_days_id", True, "form", "uint"
    )
    assert tables["team-types"]["Authorization"].where == "header"
    assert tables["activities"]["request"] == TableRow("request", True, "form", "string")
    assert tables["activities"]["bib_num"] == TableRow("bib_num", False, "query", "uint")


def test_openapi_blocks_are_read_where_the_pages_have_them() -> None:
    with_block = {n for n, e in ENDPOINTS.items() if openapi_block(page_text(e.page))}
    assert with_block == {"albums", "activities", "team-types"}
    # Every OpenAPI parameter also appears in its page's table (same source, two renderings).
    for name in with_block:
        page = page_text(ENDPOINTS[name].page)
        block = openapi_block(page)
        assert block is not None
        operation = _operation(block, ENDPOINTS[name])
        assert {p["name"] for p in operation["parameters"]} <= set(parameter_table(page))


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_adjusted_specs_are_valid_openapi(name: str) -> None:
    OpenAPI.from_dict(copy.deepcopy(page_spec(name)[0]))  # validates the spec
    # The page's own server is never used.
    assert openapi_for(name, "http://127.0.0.1:1/rest").spec["servers"][0]["url"] == (
        "http://127.0.0.1:1/rest"
    )


# --- the validation bites ------------------------------------------------------------------


def _multipart(fields: Iterable[tuple[str, str]]) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
        for n, v in fields
    ]
    return f"multipart/form-data; boundary={boundary}", "".join(
        [*parts, f"--{boundary}--\r\n"]
    ).encode()


def mutate(
    recorded: Recorded,
    *,
    query: Callable[[list[tuple[str, str]]], list[tuple[str, str]]] | None = None,
    form: Callable[[list[tuple[str, str]]], list[tuple[str, str]]] | None = None,
    drop_header: str | None = None,
) -> Recorded:
    url = URL(recorded.url)
    if query is not None:
        url = url.with_query(query(recorded.query()))
    headers = [(k, v) for k, v in recorded.headers if k != drop_header]
    body = recorded.body
    if form is not None:
        content_type, body = _multipart(form(recorded.form()))
        headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        headers.append(("Content-Type", content_type))
    return Recorded(recorded.method, str(url), tuple(headers), body)


def rename(old: str, new: str) -> Callable[[list[tuple[str, str]]], list[tuple[str, str]]]:
    def change(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
        assert old in dict(items), f"{old} was not sent"
        return [(new if n == old else n, v) for n, v in items]

    return change


def replace(name: str, value: str) -> Callable[[list[tuple[str, str]]], list[tuple[str, str]]]:
    def change(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
        assert name in dict(items), f"{name} was not sent"
        return [(n, value if n == name else v) for n, v in items]

    return change


def drop(name: str) -> Callable[[list[tuple[str, str]]], list[tuple[str, str]]]:
    def change(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
        assert name in dict(items), f"{name} was not sent"
        return [(n, v) for n, v in items if n != name]

    return change


def _case(case_id: str) -> tuple[str, Auth | None, Call]:
    return next((n, a, c) for n, i, a, c in CASES if i == case_id)


MISSING = "MissingRequiredParameter"
BAD_PARAMETER = "ParameterValidationError"
BAD_BODY = "InvalidRequestBody"
BREAKAGES: list[tuple[str, dict[str, Any], set[str]]] = [
    # required parameters renamed or missing: openapi-core misses them, and a renamed one
    # is also an undeclared name
    ("albums-V2KeyAuth", {"query": rename("race_id", "raceid")}, {MISSING, "undeclared: raceid"}),
    ("photos-defaults", {"query": rename("race_event_days_id", "race_event_day_id")},
     {MISSING, "undeclared: race_event_day_id"}),
    ("activities-V2KeyAuth", {"query": drop("event_id")}, {MISSING}),
    ("team-types-V2KeyAuth", {"query": rename("race_event_days_id", "race_event_days")},
     {MISSING, "undeclared: race_event_days"}),
    ("race-create-TempKeyAuth", {"query": drop("protected_api_signature")}, {MISSING}),
    # optional parameters renamed: only the undeclared-name check can see it
    ("photos-every-option", {"query": rename("generic_photo_album_id", "album_id")},
     {"undeclared: album_id"}),
    ("activities-bib_num", {"query": rename("bib_num", "bib_number")},
     {"undeclared: bib_number"}),
    ("race-edit-TempKeyAuth", {"query": rename("race_id", "raceId")}, {"undeclared: raceId"}),
    # mistyped values
    ("albums-ApiKeyAuth", {"query": replace("race_id", "abc")}, {BAD_PARAMETER}),
    ("photos-every-option", {"query": replace("num", "fifty")}, {BAD_PARAMETER}),
    ("albums-V2KeyAuth", {"query": replace("format", "yaml")}, {"InvalidParameter"}),
    # the form: request missing (activities: it satisfies the block's query parameter) or
    # renamed, request_format unknown
    ("activities-ApiKeyAuth", {"form": drop("request")}, {MISSING}),
    ("race-create-TempKeyAuth", {"form": rename("request", "payload")},
     {BAD_BODY, "undeclared: payload"}),
    ("team-types-BearerAuth", {"form": drop("request")}, {BAD_BODY}),
    ("team-types-SuperPartnerAuth", {"form": replace("request_format", "yaml")}, {BAD_BODY}),
    # credentials: the secret header left off, or a mode the page does not list
    ("photos-defaults", {"drop_header": "X-RSU-API-SECRET"}, {MISSING}),
    ("team-types-V2KeyAuth", {"drop_header": "X-RSU-API-SECRET"}, {"SecurityValidationError"}),
    # (the albums block accepts api_key or api_secret alone, so only the name check sees it)
    ("albums-ApiKeyAuth", {"query": rename("api_key", "tmp_key")}, {"undeclared: tmp_key"}),
    ("activities-TempKeyAuth", {"query": drop("tmp_key")}, {"SecurityValidationError"}),
]  # fmt: skip


def failures(name: str, recorded: Recorded, base_url: str) -> set[str]:
    """What each check says of ``recorded``: undeclared names, openapi-core's error type."""
    found = set(undeclared(recorded, page_spec(name)[1]))
    try:
        openapi_for(name, base_url).validate_request(
            WireRequest(recorded, post_fields=post_fields_of(name))
        )
    except OpenAPIError as error:
        found.add(type(error).__name__)
    return found


@pytest.mark.parametrize(
    ("case_id", "change", "expected"),
    [pytest.param(c, ch, e, id=f"{c}-{i}") for i, (c, ch, e) in enumerate(BREAKAGES)],
)
async def test_validation_bites(
    recorder: Recorder, case_id: str, change: dict[str, Any], expected: set[str]
) -> None:
    name, auth, call = _case(case_id)
    recorded = await capture(recorder, auth, call)
    assert failures(name, recorded, recorder.base_url) == set()  # the SDK's own request
    assert failures(name, mutate(recorded, **change), recorder.base_url) == expected


async def test_undeclared_optional_name_passes_openapi_core_alone(recorder: Recorder) -> None:
    """Why ``undeclared`` exists: openapi-core alone accepts a renamed optional parameter."""
    name, auth, call = _case("photos-every-option")
    broken = mutate(
        await capture(recorder, auth, call), query=rename("generic_photo_album_id", "album_id")
    )
    openapi_for(name, recorder.base_url).validate_request(WireRequest(broken))
    assert undeclared(broken, page_spec(name)[1]) == ["undeclared: album_id"]


async def test_a_form_field_satisfies_a_parameter_the_table_marks_post(
    recorder: Recorder,
) -> None:
    """team types: race_event_days_id (table: POST; block: query) is accepted in the form."""
    name, auth, call = _case("team-types-V2KeyAuth")
    recorded = await capture(recorder, auth, call)
    value = dict(recorded.query())["race_event_days_id"]
    moved = mutate(
        recorded,
        query=drop("race_event_days_id"),
        form=lambda fields: [*fields, ("race_event_days_id", value)],
    )
    validate(name, moved, recorder.base_url)
    # ... but a form field of a name the table marks GET does not count as the parameter.
    name, auth, call = _case("albums-V2KeyAuth")
    recorded = await capture_again(recorder, auth, call)
    race_id = dict(recorded.query())["race_id"]
    in_form = mutate(recorded, query=drop("race_id"), form=lambda f: [*f, ("race_id", race_id)])
    with pytest.raises(Exception):  # noqa: B017, PT011 - openapi-core's missing parameter
        openapi_for(name, recorder.base_url).validate_request(
            WireRequest(in_form, post_fields=post_fields_of(name))
        )


async def capture_again(recorder: Recorder, auth: Auth | None, call: Call) -> Recorded:
    recorder.requests.clear()
    return await capture(recorder, auth, call)
