"""The RunSignup wire protocol as pure functions: build a request, decipher a response.

Nothing here does I/O or imports aiohttp, so every rule of the protocol is tested without
a network or an event loop. The rules this module owns:

- every call asks for ``format=json`` (the API defaults to XML);
- a POST payload travels as the form field ``request`` with ``request_format=json``;
- errors arrive as ``{"error": {"error_code": N, "error_msg": "..."}}``, usually with
  HTTP 200, or as ``{"error": "...", "details": {...}}``: the body decides, not the status;
- anything that is not JSON (XML, an HTML error page, nothing, a truncated document) is a
  ``ResponseDecodeError`` that says what came back;
- an answer is read straight into the models when the caller says how (``decode``); one
  that does not fit is a ``ResponseDecodeError`` naming the JSON path of the bad field.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final
from urllib.parse import urlencode

import attrs

from . import errors
from ._convert import ShapeError
from ._redact import redact_headers, redact_params, redact_text, redact_url
from .auth import Auth, ProtectedApiSigner

__all__ = [
    "Request",
    "build_request",
    "decipher",
    "error_class",
    "is_idempotent",
    "parse_retry_after",
    "shown_url",
]

USER_AGENT: Final = "runsignup-async/0.1"
SNIPPET_LENGTH: Final = 160

ParamValue = str | int | float | bool | date | datetime | None


@attrs.frozen
class Request:
    """Everything needed to send one call; the transport adds nothing but the base URL."""

    method: str
    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    form: Mapping[str, str] | None = None

    def __repr__(self) -> str:
        return (
            f"Request({self.method} {self.path}, params={redact_params(self.params)},"
            f" headers={redact_headers(self.headers)}, form={'set' if self.form else None})"
        )

    @property
    def is_idempotent(self) -> bool:
        return is_idempotent(self.method)


def is_idempotent(method: str) -> bool:
    """Whether a call may be sent twice: a GET reads; a POST may create or add."""
    return method.upper() in ("GET", "HEAD")


def encode_param(value: ParamValue) -> str:
    """One query or form value in the API's conventions (booleans are ``T``/``F``)."""
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _encode_all(values: Mapping[str, ParamValue] | None) -> dict[str, str]:
    return {k: encode_param(v) for k, v in (values or {}).items() if v is not None}


def build_request(
    method: str,
    path: str,
    *,
    params: Mapping[str, ParamValue] | None = None,
    payload: Any = None,
    form: Mapping[str, ParamValue] | None = None,
    auth: Auth | None = None,
    signer: ProtectedApiSigner | None = None,
    now: float | None = None,
) -> Request:
    """The request for one API call.

    ``params`` go in the query string (``None`` values are left out), ``payload`` is
    JSON-encoded into the ``request`` form field, and ``form`` adds plain form fields
    beside it. Credentials come from ``auth``; ``signer`` adds a fresh
    ``protected_api_signature``.
    """
    method = method.upper()
    query = _encode_all(params)
    query["format"] = "json"
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if auth is not None:
        auth.apply(query, headers)
    if signer is not None:
        query["protected_api_signature"] = signer.sign(now=now)
    body: dict[str, str] | None = None
    if payload is not None or form:
        body = _encode_all(form)
        if payload is not None:
            body["request"] = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
            body["request_format"] = "json"
    return Request(method=method, path=path, params=query, headers=headers, form=body)


# --- deciphering ---------------------------------------------------------------------------

_ERROR_CODE_CLASSES: Final[dict[int, type[errors.APIError]]] = {
    1: errors.InvalidRequestError,  # unknown method
    2: errors.InvalidRequestError,  # HTTP method not supported
    3: errors.InvalidRequestError,  # invalid parameters
    5: errors.ServerError,  # database error
    6: errors.AuthenticationError,  # key authentication failed
    7: errors.PermissionDeniedError,
    9: errors.InvalidRequestError,  # invalid date
    10: errors.InvalidRequestError,  # format not supported
    13: errors.AuthenticationError,  # must be logged in
    14: errors.RateLimitError,
    15: errors.InvalidRequestError,  # invalid ID
    103: errors.PermissionDeniedError,  # account locked
}

_STATUS_CLASSES: Final[dict[int, type[errors.APIError]]] = {
    400: errors.InvalidRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    405: errors.InvalidRequestError,
    408: errors.ServerError,
    422: errors.InvalidRequestError,
    429: errors.RateLimitError,
}


def error_class(error_code: int | None, status: int) -> type[errors.APIError]:
    """The exception class for an API error: the RunSignup code decides, then the status."""
    if error_code is not None:
        if error_code in _ERROR_CODE_CLASSES:
            return _ERROR_CODE_CLASSES[error_code]
        if 101 <= error_code <= 299 or 900 <= error_code <= 999:
            return errors.InvalidRequestError  # user, race and team errors
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return errors.ServerError
    return errors.APIError


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _snippet(body: bytes, secrets: Iterable[str]) -> str:
    text = " ".join(body[: SNIPPET_LENGTH * 4].decode("utf-8", "replace").split())
    return redact_text(text, secrets)[:SNIPPET_LENGTH]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _unpack_envelope(
    error: Any, document: Mapping[str, Any]
) -> tuple[int | None, str, dict[str, Any]]:
    """(error_code, error_msg, details) from either documented envelope shape."""
    details = document.get("details")
    details = dict(details) if isinstance(details, Mapping) else {}
    if isinstance(error, Mapping):
        code = _as_int(error.get("error_code"))
        message = error.get("error_msg") or error.get("message") or ""
        inner = error.get("details") or error.get("error_details")
        if isinstance(inner, Mapping):
            details.update(inner)
    else:
        code = None
        message = error
    if code is None:
        # Race POST reports 216 (url_string in use) "in the error details".
        code = _as_int(details.get("error_code"))
    return code, str(message) if message else "(no message)", details


_XML_CODE = re.compile(rb"<error_code>\s*(\d+)\s*</error_code>")


def _not_json_reason(body: bytes, content_type: str) -> str:
    head = body.lstrip()[:64].lower()
    if not head:
        return "empty response body"
    if head.startswith((b"<!doctype html", b"<html")) or "html" in content_type:
        return "HTML page instead of JSON"
    if head.startswith(b"<"):
        code = _XML_CODE.search(body[:4096])
        hint = f" carrying RunSignup error {int(code.group(1))}" if code else ""
        return f"XML instead of JSON{hint} (the API answers XML when format=json is lost)"
    return "response is not JSON"


def shown_url(url: str, params: Mapping[str, str] | None = None) -> str:
    """``url`` with ``params`` as its query, credentials redacted: for logs and errors."""
    if not params:
        return redact_url(url)
    return f"{redact_url(url)}?{urlencode(redact_params(params), safe='*')}"


def decipher(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    url: str,
    params: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    now: float | None = None,
    decode: Callable[[bytes], Any] | None = None,
) -> Any:
    """The decoded JSON of a successful answer, or the typed error the answer describes.

    With ``decode`` (bytes to models, raising ``ShapeError`` for whatever does not fit
    them), a successful answer is read by it alone, in one pass; only an answer it refuses
    is parsed again here, to raise the API error it carries or say where it went wrong.
    ``url`` (with ``params`` as its query) is redacted here, and only on the error path;
    pass the real one. ``secrets`` are scrubbed from any text of the body quoted in an
    exception.
    """
    misfit: ShapeError | None = None
    if decode is not None and status < 400:
        try:
            return decode(body)
        except ShapeError as refused:
            misfit = refused
    document: Any = None
    decoded = False
    stripped = body.strip()
    if stripped[:1] in (b"{", b"["):
        try:
            document = json.loads(stripped)
            decoded = True
        except ValueError:
            if status < 400:
                raise errors.ResponseDecodeError(
                    "truncated or malformed JSON",
                    status=status,
                    content_type=_header(headers, "content-type"),
                    snippet=_snippet(body, tuple(secrets)),
                    method=method,
                    url=shown_url(url, params),
                ) from None
    if (
        misfit is None
        and decoded
        and status < 400
        and (type(document) is not dict or "error" not in document)
    ):
        return document  # the fast path of a call that reads the JSON itself

    safe_url = shown_url(url, params)
    content_type = _header(headers, "content-type")
    secrets = tuple(secrets)
    retry_after = parse_retry_after(_header(headers, "retry-after"), now=now)
    if decoded and isinstance(document, Mapping) and document.get("error") is not None:
        code, message, details = _unpack_envelope(document["error"], document)
        raise _api_error(code, message, details, status, method, safe_url, retry_after, secrets)
    if status >= 400:
        message = f"HTTP {status}: {_snippet(body, secrets) or 'no body'}"
        raise _api_error(None, message, {}, status, method, safe_url, retry_after, secrets)
    if not decoded:
        raise errors.ResponseDecodeError(
            _not_json_reason(body, content_type.lower()),
            status=status,
            content_type=content_type,
            snippet=_snippet(body, secrets),
            method=method,
            url=safe_url,
        )
    if misfit is not None:
        raise errors.ResponseDecodeError(
            redact_text(
                f"unexpected response shape at {misfit.json_path}: {misfit.problem}", secrets
            ),
            status=status,
            content_type=content_type,
            snippet=_record_snippet(document, misfit.path, secrets),
            method=method,
            url=safe_url,
            path=misfit.json_path,
        )
    return document


_PATH_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _record_snippet(document: Any, path: str, secrets: tuple[str, ...]) -> str:
    """The JSON of the list item that holds the bad field (``photos[3]`` for
    ``photos[3].original.image_url``), or of the whole document, scrubbed and cut short."""
    record, node = document, document
    for index, key in _PATH_STEP.findall(path.removeprefix("$")):
        if index and isinstance(node, list) and int(index) < len(node):
            node = record = node[int(index)]
        elif key and isinstance(node, dict) and key in node:
            node = node[key]
        else:
            break
    text = redact_text(json.dumps(record, ensure_ascii=False, default=str), secrets)
    return text[:SNIPPET_LENGTH]


def _api_error(
    code: int | None,
    message: str,
    details: dict[str, Any],
    status: int,
    method: str,
    url: str,
    retry_after: float | None,
    secrets: tuple[str, ...],
) -> errors.APIError:
    cls = error_class(code, status)
    common: dict[str, Any] = {
        "error_code": code,
        "details": details,
        "status": status,
        "method": method,
        "url": url,
    }
    message = redact_text(message, secrets)
    if issubclass(cls, errors.RateLimitError | errors.ServerError):
        return cls(message, retry_after=retry_after, **common)
    return cls(message, **common)
