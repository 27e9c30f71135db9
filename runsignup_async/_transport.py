"""The aiohttp seam: send one request, read its answer, translate aiohttp's errors to ours.

This is the only module that catches aiohttp exceptions. It tells the retry logic the one
fact only it can know: whether the request could have reached the server
(``TransportError.request_sent``). ``asyncio.CancelledError`` is never caught here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, Final

import aiohttp
import attrs
from yarl import URL

from ._protocol import Request
from ._redact import redact_url
from .errors import APITimeoutError, TransportError

__all__ = ["RawResponse", "send", "stream"]


@attrs.frozen
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


def _form(fields: Mapping[str, str]) -> aiohttp.FormData:
    # multipart/form-data, as RunSignup's own app sends POST payloads.
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        form.add_field(name, value)
    return form


_AIOHTTP_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


def _translate(exc: BaseException, method: str, url: str) -> TransportError:
    """Our error for one of aiohttp's (``_AIOHTTP_ERRORS``), raised ``from None``."""
    shown = redact_url(url)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        # The connection never opened: nothing was sent.
        return APITimeoutError(
            f"timed out connecting: {exc}", method=method, url=shown, request_sent=False
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransportError(
            f"could not connect: {exc.os_error or exc}",
            method=method,
            url=shown,
            request_sent=False,
        )
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's read timeouts and the total timeout
        return APITimeoutError("timed out", method=method, url=shown)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return TransportError("the answer was cut off before its end", method=method, url=shown)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return TransportError(
            "the server closed the connection without answering", method=method, url=shown
        )
    # Messages of aiohttp errors can quote the URL; keep only the class name.
    return TransportError(f"connection failed ({type(exc).__name__})", method=method, url=shown)


@asynccontextmanager
async def _translated(method: str, url: str) -> AsyncIterator[None]:
    """Turn aiohttp's exceptions raised inside the block into ours."""
    try:
        yield
    except _AIOHTTP_ERRORS as exc:
        raise _translate(exc, method, url) from None


async def send(
    session: aiohttp.ClientSession,
    request: Request,
    url: str,
    *,
    timeout: aiohttp.ClientTimeout | None = None,
) -> RawResponse:
    """Send ``request`` to ``url`` and read the whole answer."""
    data = _form(request.form) if request.form is not None else None
    async with (
        _translated(request.method, url),
        session.request(
            request.method,
            url,
            params=request.params,
            headers=request.headers,
            data=data,
            # A redirected POST would be re-sent as a GET by aiohttp: refuse to follow.
            allow_redirects=request.is_idempotent,
            **_timeout(timeout),
        ) as response,
    ):
        body = await response.read()
        return RawResponse(status=response.status, headers=dict(response.headers), body=body)


def _timeout(timeout: aiohttp.ClientTimeout | None) -> dict[str, Any]:
    # Leaving the argument out keeps the session's own timeout.
    return {} if timeout is None else {"timeout": timeout}


@attrs.frozen
class Download:
    """An open streamed answer of a download."""

    status: int
    headers: Mapping[str, str]
    content_length: int | None
    chunks: AsyncIterator[bytes]


CHUNK_SIZE = 256 * 1024
# What an already-encoded URL may hold: RFC 3986's unreserved and reserved characters,
# and '%' escapes.
_ENCODED_URL: Final = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def exact_url(url: str) -> str | URL:
    """``url`` for aiohttp to send byte for byte, when it is already encoded.

    Given a str, aiohttp re-encodes it: ``%2F`` becomes ``/`` and ``%7E`` ``~`` in the
    query, lowercase escapes become uppercase. A signed image URL (CloudFront, GCS, some
    S3 set-ups) signs the query as written, so the re-encoded one is refused with a 403
    (aiohttp#7222, #4307). A URL with characters that must be escaped (a space, non-ASCII)
    is left to aiohttp to encode.
    """
    return URL(url, encoded=True) if _ENCODED_URL.fullmatch(url) else url


class _Chunks:
    """The body of a streamed answer, chunk by chunk, with aiohttp's errors translated."""

    __slots__ = ("_content", "_size", "_url")

    def __init__(self, response: aiohttp.ClientResponse, url: str, size: int) -> None:
        self._content = response.content
        self._size = size
        self._url = url

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await self._content.read(self._size)
        except _AIOHTTP_ERRORS as exc:
            raise _translate(exc, "GET", self._url) from None
        if not chunk:
            raise StopAsyncIteration
        return chunk


class _Stream:
    """``stream()``'s context manager: a class, not a generator, as a harvest opens one
    per image (thousands a minute) and generator-based ones cost several times more."""

    __slots__ = ("_chunk_size", "_response", "_session", "_timeout", "_url")

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        timeout: aiohttp.ClientTimeout | None,
        chunk_size: int,
    ) -> None:
        self._session = session
        self._url = url
        self._timeout = timeout
        self._chunk_size = chunk_size
        self._response: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> Download:
        try:
            response = await self._session.get(exact_url(self._url), **_timeout(self._timeout))
        except _AIOHTTP_ERRORS as exc:
            raise _translate(exc, "GET", self._url) from None
        self._response = response
        return Download(
            status=response.status,
            headers=response.headers,
            content_length=response.content_length,
            chunks=_Chunks(response, self._url, self._chunk_size),
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        response, self._response = self._response, None
        if response is not None:
            # Back to the pool when read to the end; closed when left half-read.
            try:
                await response.__aexit__(exc_type, exc, tb)
            except _AIOHTTP_ERRORS as error:
                raise _translate(error, "GET", self._url) from None


def stream(
    session: aiohttp.ClientSession,
    url: str,
    *,
    timeout: aiohttp.ClientTimeout | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> AbstractAsyncContextManager[Download]:
    """GET ``url`` with no credentials and stream its body in chunks.

    Errors while the caller iterates ``chunks`` are translated too.
    """
    return _Stream(session, url, timeout, chunk_size)
