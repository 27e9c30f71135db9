"""The aiohttp seam: send one request, read its answer, translate aiohttp's errors to ours.

This is the only module that catches aiohttp exceptions. It tells the retry logic the one
fact only it can know: whether the request could have reached the server
(``TransportError.request_sent``). ``asyncio.CancelledError`` is never caught here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import attrs

from ._protocol import Request
from ._redact import redact_url
from .errors import TimeoutError, TransportError

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


@asynccontextmanager
async def _translated(method: str, url: str) -> AsyncIterator[None]:
    """Turn aiohttp's exceptions raised inside the block into ours."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        # The connection never opened: nothing was sent.
        raise TimeoutError(
            f"timed out connecting: {exc}", method=method, url=redact_url(url), request_sent=False
        ) from None
    except aiohttp.ClientConnectorError as exc:
        raise TransportError(
            f"could not connect: {exc.os_error or exc}",
            method=method,
            url=redact_url(url),
            request_sent=False,
        ) from None
    except asyncio.TimeoutError:  # aiohttp's read timeouts and the total timeout
        raise TimeoutError("timed out", method=method, url=redact_url(url)) from None
    except aiohttp.ClientPayloadError:
        raise TransportError(
            "the answer was cut off before its end", method=method, url=redact_url(url)
        ) from None
    except aiohttp.ServerDisconnectedError:
        raise TransportError(
            "the server closed the connection without answering",
            method=method,
            url=redact_url(url),
        ) from None
    except (aiohttp.ClientError, OSError) as exc:
        # Messages of aiohttp errors can quote the URL; keep only the class name.
        raise TransportError(
            f"connection failed ({type(exc).__name__})", method=method, url=redact_url(url)
        ) from None


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


@asynccontextmanager
async def stream(
    session: aiohttp.ClientSession,
    url: str,
    *,
    timeout: aiohttp.ClientTimeout | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> AsyncIterator[Download]:
    """GET ``url`` with no credentials and stream its body in chunks.

    Errors while the caller iterates ``chunks`` are translated too.
    """
    async with _translated("GET", url), session.get(url, **_timeout(timeout)) as response:

        async def read_chunks() -> AsyncGenerator[bytes, None]:
            async with _translated("GET", url):
                async for chunk in response.content.iter_chunked(chunk_size):
                    yield chunk

        chunks = read_chunks()
        try:
            yield Download(
                status=response.status,
                headers=dict(response.headers),
                content_length=response.content_length,
                chunks=chunks,
            )
        finally:
            await chunks.aclose()
