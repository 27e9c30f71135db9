"""Each auth mode puts its credentials exactly where the API pages say, and nowhere else."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest

from runsignup_async import (
    ApiKeyAuth,
    BearerAuth,
    ProtectedApiSigner,
    SuperPartnerAuth,
    TempKeyAuth,
    V2KeyAuth,
    ValidationError,
)
from runsignup_async._protocol import build_request
from runsignup_async.auth import Auth, protected_api_signature

KEY = "key-AAAAAAAA"
SECRET = "secret-BBBBBBBB"

CASES = [
    (ApiKeyAuth(KEY, SECRET), {"api_key": KEY, "api_secret": SECRET}, {}),
    (TempKeyAuth(KEY, SECRET), {"tmp_key": KEY, "tmp_secret": SECRET}, {}),
    (V2KeyAuth(KEY, SECRET), {"rsu_api_key": KEY}, {"X-RSU-API-SECRET": SECRET}),
    (SuperPartnerAuth(KEY, SECRET), {"sp_api_key": KEY}, {"X-RSU-API-SECRET": SECRET}),
    (BearerAuth(SECRET), {}, {"Authorization": f"Bearer {SECRET}"}),
]


@pytest.mark.parametrize(("auth", "params", "headers"), CASES)
def test_credentials_land_exactly_where_the_page_says(
    auth: Auth, params: dict[str, str], headers: dict[str, str]
) -> None:
    request = build_request("POST", "/x", params={"race_id": 1}, payload={"a": 1}, auth=auth)
    assert {k: v for k, v in request.params.items() if k not in ("race_id", "format")} == params
    base_headers = {"Accept", "User-Agent"}
    assert {k: v for k, v in request.headers.items() if k not in base_headers} == headers
    # Never in the body.
    assert request.form is not None
    assert all(SECRET not in value and KEY not in value for value in request.form.values())


@pytest.mark.parametrize(("auth", "params", "headers"), CASES)
def test_repr_never_shows_credentials(
    auth: Auth, params: dict[str, str], headers: dict[str, str]
) -> None:
    assert SECRET not in repr(auth) and KEY not in repr(auth)
    assert SECRET not in str(auth)
    assert set(auth.secret_values()) >= {SECRET}


@pytest.mark.parametrize("cls", [ApiKeyAuth, TempKeyAuth, V2KeyAuth, SuperPartnerAuth])
def test_empty_credentials_are_refused(cls: type[ApiKeyAuth]) -> None:
    with pytest.raises(ValidationError, match=rf"^{cls.__name__}\.key: must be a non-empty"):
        cls("", SECRET)
    with pytest.raises(ValidationError, match=rf"^{cls.__name__}\.secret: must be a non-empty"):
        cls(KEY, "")
    with pytest.raises(ValidationError) as info:
        cls(KEY, 42)  # type: ignore[arg-type]
    assert info.value.field == f"{cls.__name__}.secret" and "42" not in str(info.value)


def test_auth_objects_are_immutable() -> None:
    auth = V2KeyAuth(KEY, SECRET)
    with pytest.raises(AttributeError):
        auth.secret = "other"  # type: ignore[misc]


def test_signature_matches_the_documented_algorithm() -> None:
    expected_mac = hmac.new(b"s3cr3t", b"77.1700000000.abcdEF12.", hashlib.sha1).hexdigest()
    signature = protected_api_signature("77", "s3cr3t", 1_700_000_000, "abcdEF12")
    assert signature == f"77.1700000000.abcdEF12.{expected_mac}"


def test_signer_makes_fresh_well_formed_signatures() -> None:
    signer = ProtectedApiSigner(77, "signing-secret")
    seen = set()
    for _ in range(200):
        signature = signer.sign(now=1_700_000_000.9)
        signer_id, ts, nonce, mac = signature.split(".")
        assert signer_id == "77" and ts == "1700000000"
        assert re.fullmatch(r"[A-Za-z0-9]{8}", nonce)
        assert (
            mac
            == hmac.new(b"signing-secret", f"77.{ts}.{nonce}.".encode(), hashlib.sha1).hexdigest()
        )
        seen.add(nonce)
    assert len(seen) == 200


def test_signer_forgets_nonces_after_the_reuse_window() -> None:
    signer = ProtectedApiSigner("1", "signing-secret")
    signer.sign(now=0)
    signer.sign(now=100)
    assert len(signer._issued) == 2
    signer.sign(now=15 * 60 + 50)  # the first is older than 15 minutes now
    assert len(signer._issued) == 2


def test_signer_repr_hides_secret() -> None:
    signer = ProtectedApiSigner("1", "signing-secret")
    assert "signing-secret" not in repr(signer)
    assert "signer_id='1'" in repr(signer)
