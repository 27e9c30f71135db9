"""Credential checks: which keys the fake accepts, for which races, and signature checks.

Decisions (the pages do not say): every authentication failure, including a bad, stale,
replayed or unknown ``protected_api_signature``, is error 6, on every endpoint; a key that
authenticates but is not granted the race is error 7. A signed call (create/edit race)
needs keys too, in any mode (api, tmp, v2, sp or bearer), beside a valid signature: a
signature alone is error 6. Sending two key modes at once (say ``api_key`` and
``tmp_key``) is error 6, since the pages say they must not be combined.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Collection, Mapping
from typing import Final, Literal

import attrs

from ..auth import NONCE_REUSE_WINDOW, SECRET_HEADER, protected_api_signature
from ._wire import AUTH_FAILED, PERMISSION_DENIED, ApiFailure

__all__ = ["Caller", "FakeCredentials", "Keyring", "SignatureVerifier"]

Mode = Literal["api", "tmp", "v2", "sp", "bearer"]
SIGNATURE_MAX_SKEW: Final = 300  # seconds between the signature's timestamp and server time
_NONCE = re.compile(r"[A-Za-z0-9]{8}\Z")

# Query parameter holding the key, and where its secret travels (None: X-RSU-API-SECRET).
_KEY_PARAMS: Final[dict[str, tuple[Mode, str | None]]] = {
    "api_key": ("api", "api_secret"),
    "tmp_key": ("tmp", "tmp_secret"),
    "rsu_api_key": ("v2", None),
    "sp_api_key": ("sp", None),
}
AUTH_PARAMS: Final = frozenset(
    ["api_key", "api_secret", "tmp_key", "tmp_secret", "rsu_api_key", "sp_api_key"]
)


@attrs.frozen(repr=False)
class FakeCredentials:
    """Every credential the fake accepts out of the box (all granted every race)."""

    api_key: str = "fake-api-key"
    api_secret: str = "fake-api-secret"
    rsu_api_key: str = "fake-rsu-api-key"
    rsu_api_secret: str = "fake-rsu-api-secret"
    sp_api_key: str = "fake-sp-api-key"
    sp_api_secret: str = "fake-sp-api-secret"
    tmp_key: str = "fake-tmp-key"
    tmp_secret: str = "fake-tmp-secret"
    bearer_token: str = "fake-bearer-token"
    signer_id: str = "4242"
    signer_secret: str = "fake-signing-secret"

    def __repr__(self) -> str:
        # These are fake, but tests should learn not to print credentials anyway.
        return "FakeCredentials(...)"


@attrs.frozen
class Caller:
    """Who a request authenticated as: the mode, the key, and the races it may touch."""

    mode: Mode
    key: str
    race_ids: frozenset[int] | None  # None: every race

    def check_race(self, race_id: int) -> None:
        if self.race_ids is not None and race_id not in self.race_ids:
            raise ApiFailure(PERMISSION_DENIED, "Permission denied.")


@attrs.frozen
class _Grant:
    secret: str
    race_ids: frozenset[int] | None


class Keyring:
    """Accepted keys per mode; ``authenticate`` turns a request's credentials into a Caller."""

    def __init__(self, creds: FakeCredentials) -> None:
        self._keys: dict[Mode, dict[str, _Grant]] = {m: {} for m in ("api", "tmp", "v2", "sp")}
        self._tokens: dict[str, frozenset[int] | None] = {creds.bearer_token: None}
        self.add("api", creds.api_key, creds.api_secret)
        self.add("tmp", creds.tmp_key, creds.tmp_secret)
        self.add("v2", creds.rsu_api_key, creds.rsu_api_secret)
        self.add("sp", creds.sp_api_key, creds.sp_api_secret)

    def add(
        self, mode: Mode, key: str, secret: str, race_ids: Collection[int] | None = None
    ) -> None:
        races = None if race_ids is None else frozenset(race_ids)
        if mode == "bearer":
            self._tokens[key] = races
        else:
            self._keys[mode][key] = _Grant(secret, races)

    def authenticate(
        self,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        allowed: Collection[Mode],
    ) -> Caller:
        """The caller, or error 6 when credentials are missing, wrong or of a refused mode."""
        present = [name for name in _KEY_PARAMS if name in params]
        authorization = headers.get("Authorization")
        if authorization is not None:
            present.append("Authorization")
        if not present:
            raise ApiFailure(AUTH_FAILED, "Key authentication failed: no credentials sent.")
        if len(present) > 1:
            raise ApiFailure(AUTH_FAILED, "Key authentication failed: conflicting credentials.")
        if authorization is not None:
            return self._bearer(authorization, allowed)
        mode, secret_param = _KEY_PARAMS[present[0]]
        if mode not in allowed:
            raise ApiFailure(AUTH_FAILED, f"Key authentication failed: {present[0]} not accepted.")
        key = params[present[0]]
        if secret_param is None:
            secret = headers.get(SECRET_HEADER, "")
        else:
            secret = params.get(secret_param, "")
        grant = self._keys[mode].get(key)
        if grant is None or not secret or not hmac.compare_digest(grant.secret, secret):
            raise ApiFailure(AUTH_FAILED, "Key authentication failed.")
        return Caller(mode, key, grant.race_ids)

    def _bearer(self, authorization: str, allowed: Collection[Mode]) -> Caller:
        if "bearer" not in allowed:
            raise ApiFailure(AUTH_FAILED, "Key authentication failed: OAuth not accepted.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token not in self._tokens:
            raise ApiFailure(AUTH_FAILED, "Key authentication failed: invalid access token.")
        return Caller("bearer", token, self._tokens[token])


class SignatureVerifier:
    """Checks ``protected_api_signature`` values and remembers nonces for 15 minutes."""

    def __init__(self, signers: Mapping[str, str]) -> None:
        self.signers = dict(signers)
        self._nonces: dict[tuple[str, str], float] = {}

    def verify(self, signature: str | None, *, now: float | None = None) -> str:
        """The signer ID of a valid signature; error 6 otherwise."""
        if not signature:
            raise ApiFailure(AUTH_FAILED, "Missing protected_api_signature.")
        parts = signature.split(".")
        if len(parts) != 4:
            raise ApiFailure(AUTH_FAILED, "Malformed protected_api_signature.")
        signer_id, ts_text, nonce, _digest = parts
        secret = self.signers.get(signer_id)
        if secret is None:
            raise ApiFailure(AUTH_FAILED, "Unknown protected API signer.")
        if not ts_text.isdigit() or not _NONCE.match(nonce):
            raise ApiFailure(AUTH_FAILED, "Malformed protected_api_signature.")
        expected = protected_api_signature(signer_id, secret, int(ts_text), nonce)
        if not hmac.compare_digest(expected, signature):
            raise ApiFailure(AUTH_FAILED, "Invalid protected_api_signature.")
        clock = time.time() if now is None else now
        if abs(clock - int(ts_text)) > SIGNATURE_MAX_SKEW:
            raise ApiFailure(AUTH_FAILED, "protected_api_signature timestamp out of range.")
        self._forget_before(clock - NONCE_REUSE_WINDOW)
        if (signer_id, nonce) in self._nonces:
            raise ApiFailure(AUTH_FAILED, "protected_api_signature nonce already used.")
        self._nonces[(signer_id, nonce)] = clock
        return signer_id

    def _forget_before(self, cutoff: float) -> None:
        stale = [k for k, seen in self._nonces.items() if seen < cutoff]
        for key in stale:
            del self._nonces[key]
