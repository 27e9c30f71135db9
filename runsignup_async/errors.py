"""Every exception runsignup-async raises.

The tree::

    RunSignupError                      base of everything below
    ├── ValidationError                 bad input, refused before anything is sent (also ValueError)
    ├── ClientClosedError               the Client was used after aclose() (also RuntimeError)
    ├── APIError                        the server answered with an error (HTTP 200 envelopes too)
    │   ├── AuthenticationError         code 6, 13; HTTP 401
    │   ├── PermissionDeniedError       code 7, 103; HTTP 403
    │   ├── InvalidRequestError         codes 1-3, 9, 10, 15, 101-229, 900s; HTTP 400, 405, 422
    │   ├── NotFoundError               HTTP 404
    │   ├── RateLimitError              code 14; HTTP 429 (carries retry_after)
    │   └── ServerError                 code 5; HTTP 5xx and 408
    ├── TransportError                  the request or its answer never made it whole
    │   ├── APITimeoutError             also an asyncio.TimeoutError
    │   └── DownloadError               an image arrived with more or fewer bytes than announced
    ├── ResponseDecodeError             the answer is not JSON: XML, HTML, empty or truncated
    ├── DestinationBusyError            another harvest is writing to the same destination
    ├── StoreError                      the object store (s3://) refused a request or is unreachable
    └── QueueError                      the job queue's Redis is unreachable, or not for this worker

Every message is built from redacted parts: no secret reaches an exception's text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "ClientClosedError",
    "DestinationBusyError",
    "DownloadError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "QueueError",
    "RateLimitError",
    "ResponseDecodeError",
    "RunSignupError",
    "ServerError",
    "StoreError",
    "TransportError",
    "ValidationError",
]


class RunSignupError(Exception):
    """Base class of every error raised by runsignup-async."""


class ValidationError(RunSignupError, ValueError):
    """Input refused before any request was sent.

    ``field`` names the offending argument or model field (dotted for nested ones,
    e.g. ``"events[1].start_time"``).
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class ClientClosedError(RunSignupError, RuntimeError):
    """The client was used after ``aclose()`` or outside its ``async with`` block."""


class APIError(RunSignupError):
    """RunSignup answered with an error.

    The real API sends most errors with HTTP 200 and an ``{"error": {...}}`` envelope, so
    ``status`` is often 200: look at ``error_code``.
    """

    def __init__(
        self,
        error_msg: str,
        *,
        error_code: int | None = None,
        details: Mapping[str, Any] | None = None,
        status: int = 200,
        method: str = "",
        url: str = "",
    ) -> None:
        self.error_msg = error_msg
        self.error_code = error_code
        self.details: Mapping[str, Any] = details or {}
        self.status = status
        self.method = method
        self.url = url
        super().__init__(self._describe())

    def _describe(self) -> str:
        code = f"error {self.error_code}" if self.error_code is not None else "error"
        where = f" ({self.method} {self.url}, HTTP {self.status})" if self.method else ""
        return f"RunSignup {code}: {self.error_msg}{where}"


class AuthenticationError(APIError):
    """The credentials were refused (code 6 or 13, HTTP 401)."""


class PermissionDeniedError(APIError):
    """The credentials are valid but may not do this (code 7, HTTP 403)."""


class InvalidRequestError(APIError):
    """The server refused the request's content (code 3, 9, 10, 15, race and team codes)."""


class NotFoundError(APIError):
    """HTTP 404: the method or resource does not exist."""


class RateLimitError(APIError):
    """The server throttled the request (code 14 or HTTP 429).

    ``retry_after`` is the delay in seconds the server asked for, if it said one.
    """

    def __init__(self, error_msg: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(error_msg, **kw)


class ServerError(APIError):
    """The server failed (code 5, HTTP 5xx or 408).

    ``retry_after`` is set when a 503 said when to come back: only then is a POST
    provably unprocessed and safe to send again.
    """

    def __init__(self, error_msg: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(error_msg, **kw)


class TransportError(RunSignupError):
    """The request or its answer did not make it across the network whole.

    ``request_sent`` is False only when the connection failed before a byte of the
    request left this machine, the one case where a POST is provably unprocessed.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "", request_sent: bool = True):
        self.method = method
        self.url = url
        self.request_sent = request_sent
        where = f" ({method} {url})" if method else ""
        super().__init__(f"{message}{where}")


class APITimeoutError(TransportError, asyncio.TimeoutError):
    """The request timed out. Also an ``asyncio.TimeoutError``, so existing handlers catch it.

    (On Python 3.11+ ``asyncio.TimeoutError`` is the builtin ``TimeoutError``.)
    """


class DownloadError(TransportError):
    """An image arrived incomplete (fewer or more bytes than its Content-Length)."""


class ResponseDecodeError(RunSignupError):
    """The answer was not the JSON asked for: XML, an HTML error page, empty or truncated,
    or JSON of another shape; then ``path`` is the JSON path of the first bad field
    (``$.photos[3].photo_id``), else ``None``."""

    def __init__(
        self,
        reason: str,
        *,
        status: int,
        content_type: str,
        snippet: str,
        method: str,
        url: str,
        path: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = path
        self.status = status
        self.content_type = content_type
        self.snippet = snippet
        self.method = method
        self.url = url
        super().__init__(
            f"{reason} ({method} {url}, HTTP {status}, content-type {content_type or 'none'}):"
            f" {snippet!r}"
        )


class DestinationBusyError(RunSignupError):
    """Another harvest is writing to this destination."""


class StoreError(RunSignupError):
    """The object store of an ``s3://`` location refused a request or could not be reached
    (an unknown bucket, refused credentials, an endpoint that does not answer)."""


class QueueError(RunSignupError):
    """The job queue of a distributed harvest cannot be used: its Redis is unreachable, or
    a worker's ``--dest`` is not the destination of any harvest queued there."""
