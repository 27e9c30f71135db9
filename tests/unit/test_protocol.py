"""The wire protocol as pure functions: no network, no event loop."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from runsignup_async import errors
from runsignup_async._protocol import build_request, decipher, error_class, parse_retry_after
from runsignup_async.auth import ProtectedApiSigner, V2KeyAuth

URL = "https://api.example/rest/v2/photos/get-race-photos.json?race_id=1&rsu_api_key=KEY123456"


def envelope(code: int, msg: str = "boom") -> bytes:
    return json.dumps({"error": {"error_code": code, "error_msg": msg}}).encode()


def test_every_request_asks_for_json() -> None:
    request = build_request("get", "/x", params={"race_id": 5})
    assert request.method == "GET"
    assert request.params == {"race_id": "5", "format": "json"}
    assert request.form is None
    assert request.headers["Accept"] == "application/json"


def test_param_conventions_and_none_dropped() -> None:
    request = build_request(
        "GET",
        "/x",
        params={
            "flag": True,
            "other": False,
            "day": date(2020, 7, 25),
            "at": datetime(2014, 6, 7, 8, 30),
            "skip": None,
        },
    )
    assert request.params == {
        "flag": "T",
        "other": "F",
        "day": "2020-07-25",
        "at": "2014-06-07 08:30:00",
        "format": "json",
    }


def test_post_payload_goes_in_request_form_field_as_json() -> None:
    request = build_request("POST", "/race", payload={"name": "Ré"}, form={"race_id": 7})
    assert request.form == {
        "race_id": "7",
        "request": '{"name":"Ré"}',
        "request_format": "json",
    }
    assert request.params == {"format": "json"}
    assert not request.is_idempotent


def test_signer_adds_a_fresh_signature_each_time() -> None:
    signer = ProtectedApiSigner("42", "signing-secret")
    first = build_request("POST", "/race", payload={}, signer=signer, now=1_700_000_000)
    second = build_request("POST", "/race", payload={}, signer=signer, now=1_700_000_000)
    sig1 = first.params["protected_api_signature"]
    sig2 = second.params["protected_api_signature"]
    assert sig1.startswith("42.1700000000.")
    assert sig1 != sig2  # nonces differ


def test_request_repr_hides_credentials() -> None:
    request = build_request(
        "POST",
        "/x",
        payload={"a": 1},
        auth=V2KeyAuth("the-key-123", "the-secret-456"),
        signer=ProtectedApiSigner("1", "sign-secret-789"),
    )
    text = repr(request)
    for secret in (
        "the-key-123",
        "the-secret-456",
        "sign-secret-789",
        request.params["protected_api_signature"],
    ):
        assert secret not in text


def test_success_returns_document() -> None:
    body = b'{"photos": [{"photo_id": 1}]}'
    assert decipher(200, {}, body, method="GET", url=URL) == {"photos": [{"photo_id": 1}]}


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (1, errors.InvalidRequestError),
        (2, errors.InvalidRequestError),
        (3, errors.InvalidRequestError),
        (4, errors.APIError),
        (5, errors.ServerError),
        (6, errors.AuthenticationError),
        (7, errors.PermissionDeniedError),
        (9, errors.InvalidRequestError),
        (10, errors.InvalidRequestError),
        (13, errors.AuthenticationError),
        (14, errors.RateLimitError),
        (15, errors.InvalidRequestError),
        (101, errors.InvalidRequestError),
        (103, errors.PermissionDeniedError),
        (216, errors.InvalidRequestError),
        (222, errors.InvalidRequestError),
        (901, errors.InvalidRequestError),
    ],
)
def test_http_200_error_envelope_raises_typed_error(code: int, cls: type[errors.APIError]) -> None:
    with pytest.raises(errors.APIError) as info:
        decipher(200, {}, envelope(code, "nope"), method="GET", url=URL)
    assert type(info.value) is cls
    assert info.value.error_code == code
    assert info.value.error_msg == "nope"
    assert info.value.status == 200
    assert info.value.method == "GET"
    assert "KEY123456" not in info.value.url
    assert "race_id=1" in info.value.url


def test_string_error_code_is_understood() -> None:
    body = b'{"error": {"error_code": "14", "error_msg": "Request throttled."}}'
    with pytest.raises(errors.RateLimitError):
        decipher(200, {}, body, method="GET", url=URL)


def test_openapi_error_shape_with_details() -> None:
    body = b'{"error": "URL already in use", "details": {"error_code": 216, "field": "url_string"}}'
    with pytest.raises(errors.InvalidRequestError) as info:
        decipher(200, {}, body, method="POST", url=URL)
    assert info.value.error_code == 216
    assert info.value.error_msg == "URL already in use"
    assert info.value.details["field"] == "url_string"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.InvalidRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (408, errors.ServerError),
        (422, errors.InvalidRequestError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (502, errors.ServerError),
        (503, errors.ServerError),
        (418, errors.APIError),
    ],
)
def test_http_status_without_envelope(status: int, cls: type[errors.APIError]) -> None:
    with pytest.raises(errors.APIError) as info:
        decipher(status, {"Content-Type": "text/html"}, b"<html>bad</html>", method="GET", url=URL)
    assert type(info.value) is cls
    assert info.value.status == status
    assert "bad" in info.value.error_msg


def test_envelope_code_wins_over_status() -> None:
    with pytest.raises(errors.RateLimitError) as info:
        decipher(503, {"Retry-After": "7"}, envelope(14), method="GET", url=URL)
    assert info.value.retry_after == 7.0
    assert info.value.status == 503


def test_retry_after_on_server_error() -> None:
    with pytest.raises(errors.ServerError) as info:
        decipher(503, {"retry-after": "2"}, b"", method="POST", url=URL)
    assert info.value.retry_after == 2.0


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b'<?xml version="1.0"?><races></races>', "text/xml", "XML instead of JSON"),
        (
            b"<error><error_code>6</error_code><error_msg>x</error_msg></error>",
            "application/xml",
            "carrying RunSignup error 6",
        ),
        (b"<!DOCTYPE html><html><body>Oops</body></html>", "text/html", "HTML page"),
        (b"", "application/json", "empty response body"),
        (b'{"photos": [{"photo_id": 1', "application/json", "truncated or malformed JSON"),
        (b"photos=1", "text/plain", "not JSON"),
    ],
)
def test_non_json_bodies_raise_decode_error(body: bytes, content_type: str, reason: str) -> None:
    with pytest.raises(errors.ResponseDecodeError) as info:
        decipher(200, {"Content-Type": content_type}, body, method="GET", url=URL)
    exc = info.value
    assert reason in exc.reason
    assert exc.status == 200
    assert exc.content_type == content_type
    assert exc.snippet == " ".join(body.decode().split())[:160]
    assert "KEY123456" not in str(exc)


def test_decode_error_snippet_is_short_and_redacted() -> None:
    body = b"<html>" + b"leaked-secret-value " * 100 + b"</html>"
    with pytest.raises(errors.ResponseDecodeError) as info:
        decipher(200, {}, body, method="GET", url=URL, secrets=["leaked-secret-value"])
    assert "leaked-secret-value" not in str(info.value)
    assert len(info.value.snippet) <= 160


def test_error_message_echoing_a_secret_is_scrubbed() -> None:
    body = envelope(6, "bad key supersecretvalue")
    with pytest.raises(errors.AuthenticationError) as info:
        decipher(200, {}, body, method="GET", url=URL, secrets=["supersecretvalue"])
    assert "supersecretvalue" not in str(info.value)


def test_error_class_prefers_code() -> None:
    assert error_class(14, 500) is errors.RateLimitError
    assert error_class(None, 599) is errors.ServerError
    assert error_class(4, 200) is errors.APIError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, 0).timestamp() - datetime(1970, 1, 1).timestamp()
    assert parse_retry_after(value, now=now) == expected


def test_params_given_apart_show_in_errors_as_the_query_would() -> None:
    base, query = URL.split("?")
    params = dict(pair.split("=") for pair in query.split("&"))
    with pytest.raises(errors.APIError) as inline:
        decipher(200, {}, envelope(15), method="GET", url=URL)
    with pytest.raises(errors.APIError) as apart:
        decipher(200, {}, envelope(15), method="GET", url=base, params=params)
    assert apart.value.url == inline.value.url
    assert "KEY123456" not in apart.value.url
    with pytest.raises(errors.ResponseDecodeError) as truncated:
        decipher(200, {}, b'{"photos": [', method="GET", url=base, params=params)
    assert truncated.value.url == inline.value.url
