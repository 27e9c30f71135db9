"""Credentials: which secret goes where, for every mode the RunSignup pages list.

Each auth object only knows how to place its credentials on a request (query parameters
and headers) and how to render itself without them. Nothing here does I/O.

==================  ==============================  ==========================================
class               query parameters                headers
==================  ==============================  ==========================================
ApiKeyAuth          ``api_key``, ``api_secret``
TempKeyAuth         ``tmp_key``, ``tmp_secret``
V2KeyAuth           ``rsu_api_key``                 ``X-RSU-API-SECRET``
SuperPartnerAuth    ``sp_api_key``                  ``X-RSU-API-SECRET``
BearerAuth                                          ``Authorization: Bearer <token>``
==================  ==============================  ==========================================

``ProtectedApiSigner`` is separate: protected methods (create/edit race) need a fresh
``protected_api_signature`` on every request, on top of one of the modes above (or alone).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from collections import OrderedDict
from typing import ClassVar

import attrs

from ._redact import REDACTED
from ._validate import non_empty_text

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "BearerAuth",
    "ProtectedApiSigner",
    "SuperPartnerAuth",
    "TempKeyAuth",
    "V2KeyAuth",
    "protected_api_signature",
]

SECRET_HEADER = "X-RSU-API-SECRET"


@attrs.frozen(repr=False)
class Auth:
    """Base class: places credentials on a request's query parameters and headers."""

    def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
        raise NotImplementedError

    def secret_values(self) -> tuple[str, ...]:
        """Every credential value, so text that might echo them can be scrubbed."""
        return ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({REDACTED})"


@attrs.frozen(repr=False)
class _KeyPairAuth(Auth):
    """Key and secret pair; subclasses say where each goes."""

    key: str = attrs.field(validator=non_empty_text)
    secret: str = attrs.field(validator=non_empty_text)

    key_param: ClassVar[str]
    secret_param: ClassVar[str | None] = None  # None: the secret travels in SECRET_HEADER

    def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
        params[self.key_param] = self.key
        if self.secret_param is None:
            headers[SECRET_HEADER] = self.secret
        else:
            params[self.secret_param] = self.secret

    def secret_values(self) -> tuple[str, ...]:
        return (self.key, self.secret)


@attrs.frozen(repr=False)
class ApiKeyAuth(_KeyPairAuth):
    """Classic API key: ``api_key`` and ``api_secret`` as query parameters."""

    key_param: ClassVar[str] = "api_key"
    secret_param: ClassVar[str | None] = "api_secret"


@attrs.frozen(repr=False)
class TempKeyAuth(_KeyPairAuth):
    """Temporary key from the Login API: ``tmp_key`` and ``tmp_secret`` as query parameters."""

    key_param: ClassVar[str] = "tmp_key"
    secret_param: ClassVar[str | None] = "tmp_secret"


@attrs.frozen(repr=False)
class V2KeyAuth(_KeyPairAuth):
    """API v2 key: ``rsu_api_key`` in the query, the secret in ``X-RSU-API-SECRET``.

    Required by get-race-photos.
    """

    key_param: ClassVar[str] = "rsu_api_key"


@attrs.frozen(repr=False)
class SuperPartnerAuth(_KeyPairAuth):
    """Super partner key: ``sp_api_key`` in the query, the secret in ``X-RSU-API-SECRET``."""

    key_param: ClassVar[str] = "sp_api_key"


@attrs.frozen(repr=False)
class BearerAuth(Auth):
    """OAuth 2.0 access token, sent as ``Authorization: Bearer <token>``."""

    token: str = attrs.field(validator=non_empty_text)

    def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
        headers["Authorization"] = f"Bearer {self.token}"

    def secret_values(self) -> tuple[str, ...]:
        return (self.token,)


_NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 8
NONCE_REUSE_WINDOW = 15 * 60  # seconds the server remembers a nonce


def protected_api_signature(signer_id: str, secret: str, timestamp: int, nonce: str) -> str:
    """``<ID>.<unix_ts>.<nonce>.<hex HMAC-SHA1>``; the HMAC covers the prefix to its last period."""
    prefix = f"{signer_id}.{timestamp}.{nonce}."
    digest = hmac.new(secret.encode(), prefix.encode(), hashlib.sha1).hexdigest()
    return prefix + digest


@attrs.define(repr=False)
class ProtectedApiSigner:
    """Signs protected API calls (create/edit race) with a fresh signature per request.

    The server refuses a nonce it saw in the last 15 minutes; random nonces make a clash
    unlikely, and this signer also remembers the ones it issued so it never repeats one.
    """

    signer_id: str = attrs.field(converter=str, validator=non_empty_text)
    secret: str = attrs.field(validator=non_empty_text)
    _issued: OrderedDict[str, float] = attrs.field(factory=OrderedDict, init=False)

    def sign(self, *, now: float | None = None) -> str:
        ts = time.time() if now is None else now
        self._forget_before(ts - NONCE_REUSE_WINDOW)
        nonce = self._fresh_nonce()
        self._issued[nonce] = ts
        return protected_api_signature(self.signer_id, self.secret, int(ts), nonce)

    def _fresh_nonce(self) -> str:
        while True:
            nonce = "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(NONCE_LENGTH))
            if nonce not in self._issued:
                return nonce

    def _forget_before(self, cutoff: float) -> None:
        while self._issued:
            nonce, issued_at = next(iter(self._issued.items()))
            if issued_at >= cutoff:
                return
            del self._issued[nonce]

    def secret_values(self) -> tuple[str, ...]:
        return (self.secret,)

    def __repr__(self) -> str:
        return f"ProtectedApiSigner(signer_id={self.signer_id!r}, secret={REDACTED})"
