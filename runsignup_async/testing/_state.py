"""What the handlers share: the store, the checks, the options, and the inspection records."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import attrs

from ._auth_check import Keyring, SignatureVerifier
from ._data import FakeData, PhotoOrder
from ._wire import FORMAT_NOT_SUPPORTED, INVALID_PARAMS, ApiFailure

__all__ = [
    "DEFAULT_MAX_PAGE_SIZE",
    "Call",
    "CredentialLeak",
    "Options",
    "ProcessedPost",
    "RaceCheck",
    "ServerState",
]

TeamTypesResponse = Literal["team_type_ids", "race_team_types"]
RaceResponse = Literal["race", "flat"]
# Raises error 7 when the caller may not touch the race.
RaceCheck = Callable[[int], None]


@attrs.frozen
class ProcessedPost:
    """A POST the fake applied: proof that something happened (and how many times)."""

    endpoint: str
    params: Mapping[str, str]
    payload: Any
    response: Any


@attrs.frozen
class CredentialLeak:
    """An image request that carried credentials (the image host must never see them)."""

    path: str
    names: tuple[str, ...]


# The real API's cap on ``num`` is unverified; the fake caps it, the harder case.
DEFAULT_MAX_PAGE_SIZE: Final = 100


@attrs.frozen
class Options:
    """Behaviour switches for the places where the real API is unverified.

    The defaults are the harder case for a client: newest first, ``num`` capped.
    """

    max_page_size: int | None = DEFAULT_MAX_PAGE_SIZE
    photo_order: PhotoOrder = "newest_first"
    team_types_response: TeamTypesResponse = "team_type_ids"
    race_response: RaceResponse = "race"


@attrs.frozen
class Call:
    """One request as a handler sees it: merged query/form parameters and headers."""

    params: Mapping[str, str]
    headers: Mapping[str, str]
    path_race_id: int | None = None

    def payload(self) -> Any:
        """The decoded ``request`` form field; code 3 unless it is JSON declared as such."""
        request_format = self.params.get("request_format", "xml")
        if request_format in ("xml", "csv"):
            # Documented formats (xml is the default) that the fake does not parse.
            raise ApiFailure(
                FORMAT_NOT_SUPPORTED,
                f"Request format {request_format} not supported: send request_format=json",
            )
        if request_format != "json":
            raise ApiFailure(
                INVALID_PARAMS, f"Invalid value for parameter request_format: {request_format!r}"
            )
        raw = self.params.get("request")
        if not raw:
            raise ApiFailure(INVALID_PARAMS, "Missing required parameter: request")
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiFailure(
                INVALID_PARAMS, "Invalid value for parameter request: bad JSON"
            ) from None


@attrs.define
class ServerState:
    data: FakeData
    keyring: Keyring
    verifier: SignatureVerifier
    options: Options
    image_base_url: str = ""
    site_url: str = ""
    processed_posts: list[ProcessedPost] = attrs.Factory(list)
    request_counts: Counter[str] = attrs.Factory(Counter)
    # Rendered photo JSON per photo id (edit_photo drops a changed one).
    photo_cache: dict[int, str] = attrs.Factory(dict)

    def record(self, endpoint: str, call: Call, payload: Any, response: Any) -> None:
        self.processed_posts.append(ProcessedPost(endpoint, dict(call.params), payload, response))
