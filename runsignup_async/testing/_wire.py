"""The fake's side of the wire: error envelopes, JSON/XML rendering, parameter parsing.

Every refusal is raised as ``ApiFailure`` and rendered like the real API renders it:
``{"error": {"error_code": N, "error_msg": "..."}}`` with HTTP 200.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from ._xml import to_xml

__all__ = [
    "ApiFailure",
    "dump_json",
    "objects",
    "opt_int",
    "render",
    "req_int",
    "tf_flag",
]

JSON_TYPE: Final = "application/json"
XML_TYPE: Final = "application/xml"

# Error codes the fake answers with (see FACTS.md).
UNKNOWN_METHOD: Final = 1
BAD_HTTP_METHOD: Final = 2
INVALID_PARAMS: Final = 3
AUTH_FAILED: Final = 6
PERMISSION_DENIED: Final = 7
INVALID_DATE: Final = 9
FORMAT_NOT_SUPPORTED: Final = 10
THROTTLED: Final = 14
INVALID_ID: Final = 15
URL_IN_USE: Final = 216
DRAFT_FLAG: Final = 222
PAST_EVENT: Final = 227

_UINT = re.compile(r"[0-9]{1,18}\Z")


class ApiFailure(Exception):
    """A refusal the handler answers with the API's error envelope."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def document(self) -> dict[str, Any]:
        return {"error": {"error_code": self.code, "error_msg": self.message}}


def dump_json(document: Any) -> str:
    """Compact JSON with ``/`` escaped as ``\\/``, as RunSignup's PHP encoder writes it."""
    return json.dumps(document, separators=(",", ":")).replace("/", "\\/")


def render(
    document: Any, *, as_json: bool, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    if as_json:
        text = document if isinstance(document, str) else dump_json(document)
        return web.Response(text=text, status=status, content_type=JSON_TYPE, headers=headers)
    if isinstance(document, str):
        document = json.loads(document)
    return web.Response(
        text=to_xml(document), status=status, content_type=XML_TYPE, headers=headers
    )


def objects(payload: Any, key: str) -> list[dict[str, Any]]:
    """The list of objects under ``key`` of a request; code 3 for any other shape."""
    items = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiFailure(
            INVALID_PARAMS, f"Invalid value for parameter request: expected {{{key!r}: [objects]}}"
        )
    return items


def req_int(params: Mapping[str, str], name: str) -> int:
    """A required unsigned integer parameter; code 3 naming it when missing or malformed."""
    value = params.get(name)
    if value is None or value == "":
        raise ApiFailure(INVALID_PARAMS, f"Missing required parameter: {name}")
    return _uint(name, value)


def opt_int(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    return _uint(name, value)


def _uint(name: str, value: str) -> int:
    if not _UINT.match(value):
        raise ApiFailure(INVALID_PARAMS, f"Invalid value for parameter {name}: must be an integer")
    return int(value)


def tf_flag(params: Mapping[str, str], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if value not in ("T", "F"):
        raise ApiFailure(INVALID_PARAMS, f"Invalid value for parameter {name}: must be T or F")
    return value == "T"
