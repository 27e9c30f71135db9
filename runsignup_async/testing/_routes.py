"""The request pipeline and the two aiohttp applications (API origin, image origin).

Each API request goes: count, fault (before), latency, format, throttle, HTTP method,
parameter whitelist, authentication, handler, fault (after), render. The pipeline is one
plain function per request rather than a middleware stack, to keep the hot path short.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final

import attrs
from aiohttp import web

from ._activities import post_activities
from ._auth_check import AUTH_PARAMS, Mode
from ._faults import Fault, FaultPlan
from ._images import IMAGE_SIZES, image_chunks
from ._photos import get_albums, get_photos
from ._race_get import get_race
from ._races import post_race
from ._state import Call, CredentialLeak, RaceCheck, ServerState
from ._teams import post_team_types
from ._throttle import ThrottleState
from ._wire import (
    BAD_HTTP_METHOD,
    FORMAT_NOT_SUPPORTED,
    INVALID_PARAMS,
    THROTTLED,
    UNKNOWN_METHOD,
    ApiFailure,
    render,
)

__all__ = ["Endpoint", "Routes"]

Handler = Callable[[ServerState, Call, RaceCheck], Any]
_BASE_PARAMS: Final = AUTH_PARAMS | {"format"}
_POST_PARAMS: Final = _BASE_PARAMS | {"request", "request_format"}
_LEAKY_PARAMS: Final = AUTH_PARAMS | {"protected_api_signature"}
_LEAKY_HEADERS: Final = ("X-RSU-API-SECRET", "Authorization")
_HTML_PAGE: Final = (
    "<!DOCTYPE html><html><head><title>{code} Bad Gateway</title></head>"
    "<body><h1>{code}</h1><p>The server is temporarily unable to serve your request.</p>"
    "</body></html>"
)


@attrs.frozen
class Endpoint:
    name: str
    method: str
    params: frozenset[str]
    modes: frozenset[Mode]
    handler: Handler
    signed: bool = False  # protected API: needs protected_api_signature


def _endpoint(
    name: str, method: str, params: Collection[str], modes: Collection[Mode], handler: Handler
) -> Endpoint:
    base = _POST_PARAMS if method == "POST" else _BASE_PARAMS
    return Endpoint(name, method, frozenset(base | set(params)), frozenset(modes), handler)


ENDPOINTS: Final = {
    "get-race-photo-albums": _endpoint(
        "get-race-photo-albums", "GET", ["race_id", "race_event_days_id"], ["api", "v2"],
        get_albums,
    ),
    "get-race-photos": _endpoint(
        "get-race-photos", "GET",
        ["race_id", "race_event_days_id", "uploaded_since_timestamp", "page", "num",
         "include_participant_uploads", "generic_photo_album_id"],
        ["v2"], get_photos,
    ),
    "vr-activities": _endpoint(
        "vr-activities", "POST", ["race_id", "event_id", "registration_id", "bib_num"],
        ["api", "tmp", "v2", "sp"], post_activities,
    ),
    "team-types": _endpoint(
        "team-types", "POST", ["race_id", "race_event_days_id"], ["api", "v2", "sp", "bearer"],
        post_team_types,
    ),
    "get-race": _endpoint(
        "get-race", "GET", [], ["v2", "api", "sp", "tmp", "bearer"], get_race,
    ),
    "race": attrs.evolve(
        _endpoint(
            "race", "POST", ["race_id", "protected_api_signature", "preserve_missing_events"],
            ["api", "tmp", "v2", "sp", "bearer"], post_race,
        ),
        signed=True,
    ),
}  # fmt: skip


def _reset(request: web.BaseRequest) -> None:
    """Drop the connection with a TCP RST, so the client sees 'connection reset'."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class Routes:
    """Builds the two applications and runs every request through the pipeline."""

    def __init__(
        self, state: ServerState, faults: FaultPlan, throttle: ThrottleState, image_length: Any
    ) -> None:
        self.state = state
        self.faults = faults
        self.throttle = throttle
        self.image_length: Callable[[str], int] = image_length
        self.latency = 0.0
        self.throttled = 0
        self.image_requests = 0
        self.credential_leaks: list[CredentialLeak] = []
        # API requests being handled now, and the most at once, per endpoint name.
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()

    def api_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route(
            "*", "/rest/v2/photos/get-race-photo-albums.json", self._bind("get-race-photo-albums")
        )
        app.router.add_route(
            "*", "/rest/v2/photos/get-race-photos.json", self._bind("get-race-photos")
        )
        app.router.add_route("*", "/rest/v2/vr-activities.json", self._bind("vr-activities"))
        app.router.add_route("*", "/rest/race/{race_id}/teams/team-types", self._bind("team-types"))
        app.router.add_route("*", "/rest/race", self._bind("race"))
        app.router.add_route("*", "/rest/race/{race_id}", self._bind("get-race"))
        app.router.add_route("*", "/rest/{tail:.*}", self._unknown)
        return app  # fmt: skip

    def image_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/images/{photo_id:[0-9]+}-{size:[a-z]+}.jpg", self._image)
        return app

    def _bind(self, name: str) -> Callable[[web.Request], Any]:
        endpoint = ENDPOINTS[name]

        async def handle(request: web.Request) -> web.StreamResponse:
            name = endpoint.name
            now = self.in_flight[name] = self.in_flight[name] + 1
            if now > self.max_in_flight[name]:
                self.max_in_flight[name] = now
            try:
                return await self._dispatch(endpoint, request)
            finally:
                self.in_flight[name] -= 1

        return handle

    async def _unknown(self, request: web.Request) -> web.Response:
        failure = ApiFailure(UNKNOWN_METHOD, "Unknown method.")
        return render(failure.document(), as_json=request.query.get("format") == "json")

    async def _pre_fault(self, fault: Fault | None, request: web.Request) -> web.Response | None:
        """An answer that replaces the handler's, or None to go on."""
        if fault is None:
            return None
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        elif fault.kind == "reset_before":
            _reset(request)
            return web.Response(status=500)  # never reaches the client
        elif fault.kind == "html":
            return web.Response(
                text=_HTML_PAGE.format(code=fault.status_code),
                status=fault.status_code,
                content_type="text/html",
            )
        elif fault.kind == "status":
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            return web.Response(
                text=f"{fault.status_code} Server Error", status=fault.status_code, headers=headers
            )
        return None

    async def _dispatch(self, endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
        state = self.state
        state.request_counts[endpoint.name] += 1
        fault = self.faults.pick(endpoint.name) if self.faults else None
        if self.latency:
            await asyncio.sleep(self.latency)
        early = await self._pre_fault(fault, request)
        if early is not None:
            return early
        query = request.query
        fmt = query.get("format")
        as_json = fmt == "json"
        if fmt not in (None, "json", "xml"):
            # csv is a documented format, but none of these five methods answers it (as
            # far as the pages show): error 10, in the default format, XML.
            failure = ApiFailure(
                FORMAT_NOT_SUPPORTED, f"Format {fmt} not supported by this method."
            )
            return render(failure.document(), as_json=False)
        if self.throttle.throttle is not None:
            refused = self._throttled(request, as_json)
            if refused is not None:
                return refused
        try:
            document = await self._handle(endpoint, request)
        except ApiFailure as failure:
            document = failure.document()
        response = render(document, as_json=as_json)
        if fault is not None and fault.kind in ("reset_after", "truncated"):
            return await self._break(fault, request, response)
        return response

    async def _handle(self, endpoint: Endpoint, request: web.Request) -> Any:
        if request.method != endpoint.method:
            raise ApiFailure(BAD_HTTP_METHOD, f"HTTP method {request.method} not supported.")
        params = _single_values(request.query)
        if endpoint.method == "POST":
            form = _single_values(await request.post())
            for name, value in form.items():
                if params.setdefault(name, value) != value:
                    raise ApiFailure(INVALID_PARAMS, f"Conflicting values for parameter {name}")
        for name in params:
            if name not in endpoint.params:
                raise ApiFailure(INVALID_PARAMS, f"Unknown parameter: {name}")
        path_race = request.match_info.get("race_id")
        if path_race is not None and not path_race.isdigit():
            raise ApiFailure(INVALID_PARAMS, "Invalid value for parameter race_id")
        call = Call(params, request.headers, int(path_race) if path_race is not None else None)
        # A signed call needs both: the caller's keys (any mode) and a valid signature.
        # Keys first, so a request refused for its keys does not spend its nonce.
        caller = self.state.keyring.authenticate(params, request.headers, endpoint.modes)
        if endpoint.signed:
            self.state.verifier.verify(params.get("protected_api_signature"))
        race_ok = caller.check_race
        return endpoint.handler(self.state, call, race_ok)

    def _throttled(self, request: web.Request, as_json: bool) -> web.Response | None:
        query = request.query
        key = (
            query.get("rsu_api_key")
            or query.get("api_key")
            or query.get("sp_api_key")
            or query.get("tmp_key")
            or request.headers.get("Authorization")
            or request.remote
            or "?"
        )
        if self.throttle.allow(key):
            return None
        self.throttled += 1
        throttle = self.throttle.throttle
        assert throttle is not None
        document = ApiFailure(THROTTLED, "Request throttled.").document()
        if throttle.mode == "error14":
            return render(document, as_json=as_json)
        headers = {}
        if throttle.retry_after is not None:
            headers["Retry-After"] = f"{throttle.retry_after:g}"
        return render(document, as_json=as_json, status=429, headers=headers)

    async def _break(
        self, fault: Fault, request: web.Request, response: web.Response
    ) -> web.StreamResponse:
        """Deliver a processed answer badly: not at all, or half of it."""
        if fault.kind == "reset_after":
            _reset(request)
            return response
        body = response.body
        assert isinstance(body, bytes)
        stream = web.StreamResponse(status=response.status)
        stream.content_type = response.content_type
        stream.content_length = len(body)
        await stream.prepare(request)
        await stream.write(body[: len(body) // 2])
        if request.transport is not None:
            request.transport.close()
        return stream

    async def _image(self, request: web.Request) -> web.StreamResponse:
        self.image_requests += 1
        leaked = tuple(name for name in request.query if name in _LEAKY_PARAMS) + tuple(
            name for name in _LEAKY_HEADERS if name in request.headers
        )
        if leaked:
            self.credential_leaks.append(CredentialLeak(request.path, leaked))
        fault = self.faults.pick("images") if self.faults else None
        early = await self._pre_fault(fault, request)
        if early is not None:
            return early
        photo_id = int(request.match_info["photo_id"])
        size = request.match_info["size"]
        if photo_id not in self.state.data.photo_index or size not in IMAGE_SIZES:
            raise web.HTTPNotFound()
        length = self.image_length(size)
        response = web.StreamResponse()
        response.content_type = "image/jpeg"
        response.content_length = length
        await response.prepare(request)
        if fault is not None and fault.kind in ("reset_after", "truncated"):
            half = length // 2
            sent = 0
            for chunk in image_chunks(self.state.data.seed, photo_id, size, length):
                await response.write(chunk[: half - sent])
                sent += min(len(chunk), half - sent)
                if sent >= half:
                    break
            if fault.kind == "reset_after":
                _reset(request)
            elif request.transport is not None:
                request.transport.close()
            return response
        for chunk in image_chunks(self.state.data.seed, photo_id, size, length):
            await response.write(chunk)
        await response.write_eof()
        return response


def _single_values(values: Mapping[str, object]) -> dict[str, str]:
    """The parameters as a plain dict; code 3 for a name sent twice."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if not isinstance(value, str):
            raise ApiFailure(INVALID_PARAMS, f"Invalid value for parameter {name}: not text")
        if name in out:
            raise ApiFailure(INVALID_PARAMS, f"Parameter {name} sent more than once")
        out[name] = value
    return out
