"""What every endpoint namespace shares: the one way to send a call, and argument checks.

Checks run before anything is sent and raise ``ValidationError`` naming the argument and
what would fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from .._endpoint_table import Endpoint
from .._protocol import ParamValue
from ..auth import Auth, ProtectedApiSigner
from ..errors import ValidationError

if TYPE_CHECKING:
    from .._client import Client

T = TypeVar("T")

# RunSignup documents num's default (100) but no maximum; larger pages are refused here
# rather than silently capped by a server.
MAX_PAGE_SIZE = 1000


class Namespace:
    """A group of endpoint coroutines sharing one client (``client.photos`` ...)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _auth(self, endpoint: Endpoint) -> Auth:
        """The client's credentials, refused before sending if ``endpoint`` does not take them."""
        return endpoint.credentials(self._client.auth)

    async def _call(
        self,
        endpoint: Endpoint,
        decode: Callable[[bytes], T],
        *,
        path: str | None = None,
        params: Mapping[str, ParamValue] | None = None,
        payload: Any = None,
        signer: ProtectedApiSigner | None = None,
    ) -> T:
        """Send ``endpoint`` with the client's credentials (and ``signer`` if it is signed);
        its answer read by ``decode`` (bytes to models, see ``_protocol.decipher``)."""
        auth = self._auth(endpoint)
        if endpoint.signed:
            signer = self._signer(signer)
        result: T = await self._client._request(
            endpoint.method,
            path or endpoint.path,
            params=params,
            payload=payload,
            signer=signer,
            auth=auth,
            decode=decode,
        )
        return result

    def _signer(self, signer: ProtectedApiSigner | None) -> ProtectedApiSigner:
        chosen = signer if signer is not None else self._client.signer
        if chosen is None:
            raise ValidationError(
                "signer",
                "creating or editing a race is a protected API call: pass"
                " signer=ProtectedApiSigner(signer_id, secret) or set Client(signer=...)",
            )
        if not isinstance(chosen, ProtectedApiSigner):
            raise ValidationError("signer", f"expected a ProtectedApiSigner, got {chosen!r}")
        return chosen


def check_id(field: str, value: object) -> int:
    """A RunSignup id: a positive whole number."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be a positive integer id, got {value!r}")
    if value <= 0:
        raise ValidationError(field, f"must be a positive integer id, got {value}")
    return value


def check_optional_id(field: str, value: object) -> int | None:
    return None if value is None else check_id(field, value)


def check_range(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(field, f"must be a whole number from {low} to {high}, got {value!r}")
    return value


def check_items(field: str, values: object, cls: type[T], *, allow_empty: bool = False) -> list[T]:
    """A non-empty list (or tuple) of ``cls`` instances, each named by index if wrong."""
    if isinstance(values, cls) or not isinstance(values, list | tuple):
        raise ValidationError(field, f"must be a list of {cls.__name__} objects")
    if not values and not allow_empty:
        raise ValidationError(field, f"is empty: give at least one {cls.__name__}")
    for index, value in enumerate(values):
        if not isinstance(value, cls):
            raise ValidationError(
                f"{field}[{index}]", f"expected {cls.__name__}, got {type(value).__name__}"
            )
    return list(values)


def check_bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, f"must be True or False, got {value!r}")
    return value


def unix_seconds(field: str, value: object) -> int | None:
    """A timestamp parameter: an aware datetime or unix seconds."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError(
                field, "must be timezone-aware (e.g. datetime(..., tzinfo=timezone.utc))"
            )
        return int(value.timestamp())
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValidationError(field, f"must be an aware datetime or unix seconds, got {value!r}")
