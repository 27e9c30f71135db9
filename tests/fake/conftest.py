"""Fixtures for the fake server's own tests: a started fake, a raw HTTP session, the pages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from runsignup_async.testing import FakeRunSignup

_PAGE_DIRS = (
    Path(__file__).parents[1] / "api_pages",
    Path(__file__).parents[2].parent / "shared" / "runsignup-api",
)


def _page_text(name: str) -> str:
    for folder in _PAGE_DIRS:
        path = folder / f"{name}.txt"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    pytest.skip(f"API page {name}.txt not found")


def _first_json_after(text: str, marker: str) -> Any:
    """The first JSON object after ``marker`` in a page."""
    start = text.index("{", text.index(marker))
    value, _ = json.JSONDecoder().raw_decode(text[start:])
    return value


@pytest.fixture
def api_page_text() -> Callable[[str], str]:
    return _page_text


@pytest.fixture
def page_json() -> Callable[[str, str], Any]:
    return lambda name, marker: _first_json_after(_page_text(name), marker)


class Api:
    """Raw calls against the fake; answers (status, decoded JSON or text, headers)."""

    def __init__(self, fake: FakeRunSignup, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session

    def auth(self, mode: str) -> tuple[dict[str, str], dict[str, str]]:
        """(params, headers) carrying the fake's credentials of one mode."""
        c = self.fake.credentials
        table: dict[str, tuple[dict[str, str], dict[str, str]]] = {
            "api": ({"api_key": c.api_key, "api_secret": c.api_secret}, {}),
            "tmp": ({"tmp_key": c.tmp_key, "tmp_secret": c.tmp_secret}, {}),
            "v2": ({"rsu_api_key": c.rsu_api_key}, {"X-RSU-API-SECRET": c.rsu_api_secret}),
            "sp": ({"sp_api_key": c.sp_api_key}, {"X-RSU-API-SECRET": c.sp_api_secret}),
            "bearer": ({}, {"Authorization": f"Bearer {c.bearer_token}"}),
            "none": ({}, {}),
        }
        return table[mode]

    async def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int],
        *,
        mode: str = "v2",
        form: Mapping[str, str] | None = None,
        payload: Any = None,
        headers: Mapping[str, str] | None = None,
        fmt: str | None = "json",
    ) -> tuple[int, Any, Mapping[str, str]]:
        query, auth_headers = self.auth(mode)
        query = {**query, **{k: str(v) for k, v in params.items()}}
        if fmt is not None:
            query["format"] = fmt
        body = dict(form or {})
        if payload is not None:
            body["request"] = json.dumps(payload)
            body.setdefault("request_format", "json")
        async with self.session.request(
            method,
            self.fake.base_url + path,
            params=query,
            headers={**auth_headers, **(headers or {})},
            data=body if method == "POST" else None,
        ) as response:
            text = await response.text()
            decoded: Any = json.loads(text) if text.startswith("{") else text
            return response.status, decoded, response.headers

    async def get(self, path: str, params: Mapping[str, str | int], **kw: Any) -> Any:
        return (await self.call("GET", path, params, **kw))[1]

    async def post(self, path: str, params: Mapping[str, str | int], **kw: Any) -> Any:
        return (await self.call("POST", path, params, **kw))[1]


@pytest.fixture
async def fake() -> AsyncIterator[FakeRunSignup]:
    async with FakeRunSignup(seed=1, races=3, photos_per_race_day=25) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def api(fake: FakeRunSignup, session: aiohttp.ClientSession) -> Api:
    return Api(fake, session)


@pytest.fixture
def api_for(session: aiohttp.ClientSession) -> Callable[[FakeRunSignup], Api]:
    """An ``Api`` for a fake the test starts itself (with its own options)."""
    return lambda server: Api(server, session)


@pytest.fixture
def day(fake: FakeRunSignup) -> dict[str, int]:
    race_id, days_id = fake.race_days()[0]
    return {"race_id": race_id, "race_event_days_id": days_id}
