"""``FakeRunSignup``: the in-memory RunSignup server a test starts and inspects.

It serves the API under ``<base_url>`` (``http://127.0.0.1:<port>/rest``) and the photos'
images on a second origin, ``<image_base_url>``, as production serves them from S3.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection, Mapping
from types import TracebackType
from typing import Any, Literal

import attrs
from aiohttp import web

from ..auth import (
    ApiKeyAuth,
    BearerAuth,
    ProtectedApiSigner,
    SuperPartnerAuth,
    TempKeyAuth,
    V2KeyAuth,
)
from ._auth_check import FakeCredentials, Keyring, SignatureVerifier
from ._data import FakeData, PhotoOrder, RaceDayIds
from ._faults import FaultPlan
from ._images import DEFAULT_LENGTHS, MIN_LENGTH, image_bytes
from ._routes import Routes
from ._state import DEFAULT_MAX_PAGE_SIZE, CredentialLeak, Options, ProcessedPost, ServerState
from ._throttle import Throttle, ThrottleState

__all__ = ["FakeRunSignup"]


class FakeRunSignup:
    """An in-memory RunSignup on two loopback TCP sites; ``async with`` starts and stops it.

    Data comes from ``data`` or is generated from ``seed`` (``races`` races, each with
    ``days_per_race`` event days of ``photos_per_race_day`` photos).

    Where the real API is unverified the defaults are the harder case for a client:
    photos are listed newest first (``photo_order="photo_id"`` for ascending ids), so an
    upload during a walk shifts later pages, and ``num`` is silently capped at
    ``max_page_size`` = 100 (``None``: no cap).
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        races: int = 3,
        days_per_race: int = 1,
        photos_per_race_day: int = 25,
        data: FakeData | None = None,
        credentials: FakeCredentials | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        image_port: int = 0,
        max_page_size: int | None = DEFAULT_MAX_PAGE_SIZE,
        photo_order: PhotoOrder = "newest_first",
        image_size: int | Mapping[str, int] | None = None,
        throttle: Throttle | None = None,
        latency: float = 0.0,
        team_types_response: Literal["team_type_ids", "race_team_types"] = "team_type_ids",
        race_response: Literal["race", "flat"] = "race",
    ) -> None:
        if data is None:
            data = FakeData.generate(
                seed, races=races, days_per_race=days_per_race,
                photos_per_race_day=photos_per_race_day,
            )  # fmt: skip
        self.data = data
        self.credentials = credentials or FakeCredentials()
        creds = self.credentials
        self._lengths = dict(DEFAULT_LENGTHS)
        if isinstance(image_size, int):
            self._lengths = dict.fromkeys(DEFAULT_LENGTHS, max(image_size, MIN_LENGTH))
        elif image_size is not None:
            self._lengths.update(image_size)
        self._state = ServerState(
            data=data,
            keyring=Keyring(creds),
            verifier=SignatureVerifier({creds.signer_id: creds.signer_secret}),
            options=Options(max_page_size, photo_order, team_types_response, race_response),
        )
        self.faults = FaultPlan()
        self._throttle = ThrottleState(throttle)
        self._routes = Routes(self._state, self.faults, self._throttle, self._lengths.__getitem__)
        self._routes.latency = latency
        self._host = host
        self._ports = (port, image_port)
        self._runners: list[web.AppRunner] = []
        self._origins: tuple[str, str] | None = None
        self._lock = asyncio.Lock()

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> FakeRunSignup:
        """Bind both sites (free ports unless given). Starting a started fake does nothing."""
        async with self._lock:
            if self._origins is not None:
                return self
            origins = []
            try:
                for app, port in zip(
                    (self._routes.api_app(), self._routes.image_app()), self._ports, strict=True
                ):
                    runner = web.AppRunner(app, access_log=None, handle_signals=False)
                    await runner.setup()
                    self._runners.append(runner)
                    site = web.TCPSite(runner, self._host, port)
                    await site.start()
                    bound = runner.addresses[-1][1]
                    origins.append(f"http://{self._host}:{bound}")
            except BaseException:
                await self._cleanup()
                raise
            self._origins = (origins[0], origins[1])
            self._state.site_url = origins[0]
            self._state.image_base_url = origins[1]
            self._state.photo_cache.clear()
            return self

    async def close(self) -> None:
        """Stop serving; closing twice, or a fake never started, is fine."""
        async with self._lock:
            await self._cleanup()
            self._origins = None

    async def _cleanup(self) -> None:
        runners, self._runners = self._runners, []
        for runner in reversed(runners):
            await runner.cleanup()

    async def __aenter__(self) -> FakeRunSignup:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _origin(self, n: int) -> str:
        if self._origins is None:
            raise RuntimeError("FakeRunSignup is not started: use 'async with' or start()")
        return self._origins[n]

    @property
    def base_url(self) -> str:
        """The API root, e.g. ``http://127.0.0.1:PORT/rest``; append endpoint paths."""
        return self._origin(0) + "/rest"

    @property
    def image_base_url(self) -> str:
        """The image origin, a different port from the API's (as S3 is another host)."""
        return self._origin(1)

    # --- credentials ---------------------------------------------------------------------

    def api_key_auth(self) -> ApiKeyAuth:
        return ApiKeyAuth(self.credentials.api_key, self.credentials.api_secret)

    def v2_auth(self) -> V2KeyAuth:
        return V2KeyAuth(self.credentials.rsu_api_key, self.credentials.rsu_api_secret)

    def super_partner_auth(self) -> SuperPartnerAuth:
        return SuperPartnerAuth(self.credentials.sp_api_key, self.credentials.sp_api_secret)

    def temp_auth(self) -> TempKeyAuth:
        return TempKeyAuth(self.credentials.tmp_key, self.credentials.tmp_secret)

    def bearer_auth(self) -> BearerAuth:
        return BearerAuth(self.credentials.bearer_token)

    def signer(self) -> ProtectedApiSigner:
        """A fresh signer for the accepted signing ID (each keeps its own nonce memory)."""
        return ProtectedApiSigner(self.credentials.signer_id, self.credentials.signer_secret)

    def add_api_key(self, key: str, secret: str, race_ids: Collection[int] | None = None) -> None:
        """Accept ``api_key``/``api_secret``; only for ``race_ids`` (others: error 7)."""
        self._state.keyring.add("api", key, secret, race_ids)

    def add_v2_key(self, key: str, secret: str, race_ids: Collection[int] | None = None) -> None:
        """Accept ``rsu_api_key`` with this secret; only for ``race_ids`` (others: error 7)."""
        self._state.keyring.add("v2", key, secret, race_ids)

    def add_signer(self, signer_id: str, secret: str) -> None:
        self._state.verifier.signers[str(signer_id)] = secret

    # --- data ----------------------------------------------------------------------------

    @property
    def races(self) -> dict[int, dict[str, Any]]:
        """Every stored race as JSON, by race ID (generated ones and those POSTed)."""
        return self.data.races

    @property
    def team_types(self) -> dict[tuple[int, int], list[dict[str, Any]]]:
        """Stored team types by (race_id, race_event_days_id)."""
        return self.data.team_types

    @property
    def activities(self) -> dict[tuple[int, int, str], list[dict[str, Any]]]:
        """Posted activities by (race_id, event_id, "reg:<id>" | "bib:<n>" | "self")."""
        return self.data.activities

    def race_days(self) -> list[tuple[int, int]]:
        """Every (race_id, race_event_days_id), sorted."""
        return self.data.race_days()

    def event_ids(self, race_id: int) -> list[int]:
        return [e["event_id"] for e in self.data.races[race_id]["events"]]

    def photos(self, race_id: int, race_event_days_id: int) -> list[dict[str, Any]]:
        """The day's photos, all albums, in the order the fake lists them (``photo_order``)."""
        base = self.image_base_url
        day = self.data.days[(race_id, race_event_days_id)]
        return [p.to_json(base) for p in day.ordered(self._state.options.photo_order)]

    def add_race_day(
        self,
        race_id: int,
        race_event_days_id: int | None = None,
        *,
        photos: int = 0,
        events: int = 1,
        albums: int = 1,
    ) -> RaceDayIds:
        return self.data.add_race_day(
            race_id, race_event_days_id, events=events, albums=albums, photos=photos
        )

    def add_photos(
        self,
        race_id: int,
        race_event_days_id: int,
        n: int,
        *,
        uploaded_ts: int | None = None,
        album_id: int | str | None = None,
    ) -> list[int]:
        """``n`` new photos; newer than all others unless ``uploaded_ts`` says otherwise."""
        return self.data.add_photos(
            race_id, race_event_days_id, n, uploaded_ts=uploaded_ts, album_id=album_id
        )

    def edit_photo(self, photo_id: int, **changes: Any) -> None:
        """Change a photo in place (its ``width``/``height``, ``bibs``, ...), as an edit
        on RunSignup would: listed changed from the next request on."""
        old = self.data.photo_index[photo_id]
        new = attrs.evolve(old, **changes)
        day = self.data.days[(old.race_id, old.race_event_days_id)]
        day.photos = [new if p.photo_id == photo_id else p for p in day.photos]
        day.reindex()
        self.data.photo_index[photo_id] = new
        self._state.photo_cache.pop(photo_id, None)

    def image_bytes(self, photo_id: int, size: str) -> bytes:
        """What the image origin serves for that photo and size (original/large/thumbnail)."""
        return image_bytes(self.data.seed, photo_id, size, self._lengths[size])

    def image_url(self, photo_id: int, size: str) -> str:
        return f"{self.image_base_url}/images/{photo_id}-{size}.jpg"

    # --- behaviour and inspection --------------------------------------------------------

    def set_throttle(self, throttle: Throttle | None) -> None:
        """Replace the rate limit (None: unlimited); buckets start full again."""
        self._throttle.configure(throttle)

    @property
    def latency(self) -> float:
        return self._routes.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._routes.latency = seconds

    @property
    def request_counts(self) -> Counter[str]:
        """API requests received per endpoint name (faulted and throttled ones included)."""
        return self._state.request_counts

    @property
    def max_in_flight(self) -> Counter[str]:
        """The most API requests handled at once since the last reset, per endpoint name
        (a request counts until its answer is written)."""
        return self._routes.max_in_flight

    @property
    def processed_posts(self) -> list[ProcessedPost]:
        """Every POST the fake applied, in order."""
        return self._state.processed_posts

    @property
    def throttled_count(self) -> int:
        return self._routes.throttled

    @property
    def image_request_count(self) -> int:
        return self._routes.image_requests

    @property
    def credential_leaks(self) -> list[CredentialLeak]:
        """Image requests that carried credentials (parameter or header names)."""
        return self._routes.credential_leaks

    def reset_stats(self) -> None:
        """Zero the counters and forget processed POSTs and leaks; data stays."""
        self._state.request_counts.clear()
        self._state.processed_posts.clear()
        self._routes.throttled = 0
        self._routes.max_in_flight.clear()
        self._routes.image_requests = 0
        self._routes.credential_leaks.clear()
