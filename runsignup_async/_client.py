"""``Client``: owns the aiohttp session, the rate limiter and the retry policy.

Every API call goes through ``Client._request``: build the request (pure), take a rate
limiter slot, send it (the transport), decipher the answer (pure), and retry what the
retry table allows. Endpoint namespaces (``client.photos`` ...) are thin users of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs
from yarl import URL

from . import _constants as C
from . import _retry
from ._protocol import (
    ParamValue,
    build_request,
    decipher,
    error_class,
    is_idempotent,
    shown_url,
)
from ._ratelimit import RateLimit, RateLimiter
from ._redact import redact_url
from ._retry import RetryBudget, RetryPolicy
from ._shared import Limiter, LimitsSnapshot, shared_limiter
from ._transport import Download, send, stream
from ._validate import check_number
from .auth import Auth, ProtectedApiSigner
from .endpoints import Activities, Photos, Races, Teams
from .errors import ClientClosedError, RateLimitError, RunSignupError, ValidationError
from .models import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ._shared._limiter import SharedLimiter

__all__ = ["Client", "RequestEvent", "ResponseEvent"]

logger = logging.getLogger("runsignup_async")


class _ImageDownload:
    """``Client.download``'s context manager: a download slot, then the stream; an error
    status raised as a typed error. A class rather than a generator: a harvest opens one
    per image."""

    __slots__ = ("_slots", "_stream", "_url")

    def __init__(
        self, slots: asyncio.Semaphore, opened: AbstractAsyncContextManager[Download], url: str
    ) -> None:
        self._slots = slots
        self._stream = opened
        self._url = url

    async def __aenter__(self) -> Download:
        await self._slots.acquire()
        try:
            got = await self._stream.__aenter__()
        except BaseException:
            self._slots.release()
            raise
        if got.status >= 400:
            await self.__aexit__(None, None, None)
            cls = error_class(None, got.status)
            raise cls(
                f"image download failed: HTTP {got.status}",
                status=got.status,
                method="GET",
                url=redact_url(self._url),
            )
        return got

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._stream.__aexit__(exc_type, exc, tb)
        finally:
            self._slots.release()


@attrs.frozen
class RequestEvent:
    """Passed to ``on_request`` before each attempt. ``url`` is redacted."""

    method: str
    url: str
    attempt: int


@attrs.frozen
class ResponseEvent:
    """Passed to ``on_response`` after each attempt: a status, or the error it ended in."""

    method: str
    url: str
    attempt: int
    elapsed: float
    status: int | None
    error: RunSignupError | None


# A large image may take minutes; only a stalled one should time out.
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(
    total=None, connect=C.CONNECT_TIMEOUT, sock_read=C.READ_TIMEOUT
)


def _timeout(value: float | aiohttp.ClientTimeout | None) -> aiohttp.ClientTimeout:
    if isinstance(value, aiohttp.ClientTimeout):
        return value
    total = C.TOTAL_TIMEOUT if value is None else float(value)
    if not total > 0:
        raise ValidationError("timeout", f"must be a positive number of seconds, got {value!r}")
    return aiohttp.ClientTimeout(
        total=total, connect=min(C.CONNECT_TIMEOUT, total), sock_read=min(C.READ_TIMEOUT, total)
    )


def _base_url(value: str) -> str:
    url = URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValidationError("base_url", f"must be an http(s) URL with a host, got {value!r}")
    return str(url).rstrip("/")


class Client:
    """An async RunSignup client. Use it as ``async with Client(auth) as client:``.

    ``session``: an ``aiohttp.ClientSession`` of yours to send through; the client never
    closes a session it did not create. ``retry``, ``rate_limit`` and ``max_concurrency``
    are shared by every call of this client; see ``RetryPolicy`` and ``RateLimit``.
    ``signer`` signs protected calls (create/edit race) unless a call passes its own.

    ``shared_limits``: a Redis URL (``redis://HOST:PORT/DB``) or a ``redis.asyncio.Redis``;
    the rate, the concurrency cap, throttle pauses and the adaptive rate are then shared
    by every client using that Redis and group (``shared_limits_key``; by default named
    from a hash of the credentials' key id). Needs the ``redis`` extra. See "Scaling out".

    The endpoints hang off namespaces: ``client.photos``, ``client.activities``,
    ``client.teams`` and ``client.races``.
    """

    def __init__(
        self,
        auth: Auth | None = None,
        *,
        base_url: str = C.DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        max_concurrency: int = C.MAX_CONCURRENCY,
        download_concurrency: int = C.DOWNLOAD_CONCURRENCY,
        timeout: float | aiohttp.ClientTimeout | None = None,
        signer: ProtectedApiSigner | None = None,
        on_request: Callable[[RequestEvent], Awaitable[None]] | None = None,
        on_response: Callable[[ResponseEvent], Awaitable[None]] | None = None,
        trace_configs: Iterable[aiohttp.TraceConfig] = (),
        shared_limits: str | Redis | None = None,
        shared_limits_key: str | None = None,
    ) -> None:
        if auth is not None and not isinstance(auth, Auth):
            raise ValidationError(
                "auth", f"expected an auth object such as V2KeyAuth, got {type(auth).__name__}"
            )
        check_number("max_concurrency", max_concurrency, minimum=1, whole=True)
        check_number("download_concurrency", download_concurrency, minimum=1, whole=True)
        for name, value, cls in (
            ("retry", retry, RetryPolicy),
            ("rate_limit", rate_limit, RateLimit),
            ("signer", signer, ProtectedApiSigner),
        ):
            if value is not None and not isinstance(value, cls):
                raise ValidationError(
                    name, f"expected a {cls.__name__} or None, got {type(value).__name__}"
                )
        self.auth = auth
        self.signer = signer
        self.base_url = _base_url(base_url)
        self._retry = retry or RetryPolicy()
        self._rate_limit = rate_limit or RateLimit()
        self._max_concurrency = max_concurrency
        self._download_concurrency = download_concurrency
        self.timeout = _timeout(timeout)
        self._shared: SharedLimiter | None = None
        self._limiter: Limiter
        if shared_limits is not None:
            self._limiter = self._shared = shared_limiter(
                shared_limits, shared_limits_key, auth, self._rate_limit, max_concurrency
            )
        elif shared_limits_key is not None:
            raise ValidationError("shared_limits_key", "names a group only with shared_limits=")
        else:
            self._limiter = RateLimiter(self._rate_limit, max_concurrency)
        self._downloads = asyncio.Semaphore(download_concurrency)
        self._budget = RetryBudget(self._retry.budget)
        self._session = session
        self._owns_session = session is None
        self._trace_configs = list(trace_configs)
        self._on_request = on_request
        self._on_response = on_response
        self._closed = False
        self.photos = Photos(self)
        self.activities = Activities(self)
        self.teams = Teams(self)
        self.races = Races(self)

    # Read-only: the limiter, the retry budget and the connection pool were built from
    # them, so assigning a new value later would change nothing.
    @property
    def retry(self) -> RetryPolicy:
        return self._retry

    @property
    def rate_limit(self) -> RateLimit:
        return self._rate_limit

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency

    @property
    def download_concurrency(self) -> int:
        return self._download_concurrency

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        if self._shared is not None and not self.closed:
            # A refused login to Redis fails here, before a session is opened.
            await self._shared.start()
        self._ensure_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client and the session it created. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._shared is not None:
                await self._shared.aclose()
        finally:
            if self._owns_session and self._session is not None:
                await self._session.close()

    @property
    def shares_limits(self) -> bool:
        """True when this client's limits are shared through Redis (``shared_limits``)."""
        return self._shared is not None

    async def limits_snapshot(self) -> LimitsSnapshot:
        """The limits this client works under now: with ``shared_limits``, its group's
        (rate, tokens, leases in use, clients seen), read from Redis."""
        if self._shared is not None:
            return await self._shared.snapshot()
        assert isinstance(self._limiter, RateLimiter)
        return self._limiter.snapshot()

    @property
    def closed(self) -> bool:
        return self._closed or (self._session is not None and self._session.closed)

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self.closed:
            raise ClientClosedError(
                "this Client is closed; create a new one (or keep using it inside its"
                " `async with` block)"
            )
        if self._session is None:
            # Created lazily: aiohttp wants a running event loop for its session.
            connector = aiohttp.TCPConnector(
                limit=self.max_concurrency + self.download_concurrency, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self.timeout,
                trace_configs=self._trace_configs,
                # The API needs no cookies, and a jar could carry one to an image host.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Client {self.base_url} auth={self.auth!r} {state}>"

    # --- downloads -------------------------------------------------------------------------

    def download(self, url: str) -> AbstractAsyncContextManager[Download]:
        """Stream a photo's image URL: ``async with client.download(url) as d``.

        Image URLs live on other hosts (S3 in production), so no credential of this client
        is ever sent with them. Downloads have their own concurrency cap
        (``download_concurrency``) and do not spend the API's rate limit. An HTTP error
        status raises the matching ``APIError`` subclass (``NotFoundError``, ``ServerError``).
        """
        session = self._ensure_session()
        return _ImageDownload(self._downloads, stream(session, url, timeout=DOWNLOAD_TIMEOUT), url)

    # --- the one request seam ------------------------------------------------------------

    def _secrets(self, auth: Auth | None, signer: ProtectedApiSigner | None) -> tuple[str, ...]:
        # The client's own secrets too: a server may echo them even when not sent.
        found = self.auth.secret_values() if self.auth is not None else ()
        found += auth.secret_values() if auth is not None else ()
        return found + (signer.secret_values() if signer is not None else ())

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        payload: Any = None,
        form: Mapping[str, ParamValue] | None = None,
        signer: ProtectedApiSigner | None = None,
        auth: Auth | NotGiven | None = NOT_GIVEN,
        decode: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """Send one API call with retries; return its decoded JSON or raise a typed error.

        ``auth`` overrides the client's credentials for this call (``None``: send none).
        ``decode`` reads a successful answer's bytes into models (see ``decipher``).
        """
        credentials = self.auth if isinstance(auth, NotGiven) else auth
        session = self._ensure_session()
        method = method.upper()
        send = partial(
            self._attempt,
            session,
            method,
            path,
            params=params,
            payload=payload,
            form=form,
            signer=signer,
            auth=credentials,
            decode=decode,
        )
        return await _retry.with_retries(
            send,
            self._retry,
            idempotent=is_idempotent(method),
            what=f"{method} {path}",
            budget=self._budget,
        )

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        method: str,
        path: str,
        attempt: int,
        *,
        params: Mapping[str, ParamValue] | None,
        payload: Any,
        form: Mapping[str, ParamValue] | None,
        signer: ProtectedApiSigner | None,
        auth: Auth | None,
        decode: Callable[[bytes], Any] | None,
    ) -> Any:
        # Built per attempt: a protected call needs a fresh signature and nonce each time.
        request = build_request(
            method, path, params=params, payload=payload, form=form, auth=auth, signer=signer
        )
        url = self.base_url + path
        shown = ""
        if self._on_request is not None or self._on_response is not None:
            shown = shown_url(url, request.params)
        if self._on_request is not None:
            await self._on_request(RequestEvent(method=method, url=shown, attempt=attempt))
        started = granted_at = time.monotonic()
        status: int | None = None
        try:
            async with self._limiter.slot() as granted_at:
                started = time.monotonic()  # time the exchange, not the queue
                raw = await send(session, request, url, timeout=self.timeout)
            status = raw.status
            result = decipher(
                raw.status,
                raw.headers,
                raw.body,
                method=method,
                url=url,
                params=request.params,
                secrets=self._secrets(auth, signer),
                decode=decode,
            )
        except RunSignupError as exc:
            if isinstance(exc, RateLimitError):
                self._limiter.on_throttle(granted_at, exc.retry_after)
            await self._report(method, path, shown, attempt, started, status, exc)
            raise
        self._budget.refund()
        await self._report(method, path, shown, attempt, started, status, None)
        return result

    async def _report(
        self,
        method: str,
        path: str,
        shown: str,
        attempt: int,
        started: float,
        status: int | None,
        error: RunSignupError | None,
    ) -> None:
        elapsed = time.monotonic() - started
        if logger.isEnabledFor(logging.DEBUG):
            outcome = f"status {status}" if error is None else type(error).__name__
            logger.debug("%s %s attempt %d: %s in %.3fs", method, path, attempt, outcome, elapsed)
        if self._on_response is not None:
            await self._on_response(
                ResponseEvent(
                    method=method,
                    url=shown,
                    attempt=attempt,
                    elapsed=elapsed,
                    status=status,
                    error=error,
                )
            )
