"""Answers read from bytes straight into the models: the same models as from a document,
the API's tolerated variations, and errors that name the JSON path with a scrubbed snippet."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import runsignup_async
from runsignup_async import _shapes
from runsignup_async._convert import ShapeError
from runsignup_async._protocol import decipher
from runsignup_async.errors import AuthenticationError, RateLimitError, ResponseDecodeError
from runsignup_async.models import Photo, RaceResult


def image(n: int = 1) -> dict[str, Any]:
    return {"image_url": f"https://x.test/{n}.jpg", "height": 10 * n, "width": 20 * n}


def photo(n: int = 1, **changes: Any) -> dict[str, Any]:
    base = {
        "photo_id": n,
        "album_id": 21,
        "race_event_days_id": 6568,
        "bibs": [1179, 1180],
        "original": image(1),
        "thumbnail": image(2),
        "large": image(3),
        "uploaded_filename": "a.jpg",
        "uploaded_ts": 1593547220 + n,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def body(document: Any) -> bytes:
    # PHP's json_encode escapes slashes; so does RunSignup.
    return json.dumps(document).replace("/", "\\/").encode()


def read(document: Any, race_id: int = 7) -> list[Photo]:
    return decipher(
        200,
        {"Content-Type": "application/json"},
        body(document),
        method="GET",
        url="https://api.test/v2/photos/get-race-photos.json",
        params={"rsu_api_key": "the-key-1234"},
        secrets=("the-key-1234", "the-secret-5678"),
        decode=lambda raw: _shapes.photos_from(raw, race_id=race_id),
    )


def decode_error(document: Any) -> ResponseDecodeError:
    with pytest.raises(ResponseDecodeError) as caught:
        read(document)
    return caught.value


# --- the same models, from bytes -------------------------------------------------------------


def test_bytes_and_document_give_equal_models_tagged_with_the_race() -> None:
    document = {"photos": [photo(1), photo(2, album_id="reg-6568")]}
    from_bytes = _shapes.photos_from(body(document), race_id=7)
    assert from_bytes == _shapes.photos_from(document, race_id=7)
    assert [type(p) for p in from_bytes] == [Photo, Photo]
    assert from_bytes[0].uploaded_ts == datetime(2020, 6, 30, 20, 0, 21, tzinfo=timezone.utc)
    assert type(from_bytes[0].uploaded_ts) is datetime
    assert from_bytes[0].original is not None
    assert from_bytes[0].original.image_url == "https://x.test/1.jpg"  # "\/" unescaped
    assert {p.race_id for p in from_bytes} == {7}
    assert from_bytes[1].bibs == (1179, 1180)


def test_a_document_given_is_not_changed() -> None:  # issue 15 #5 (decode part)
    document = {"photos": [photo(1), photo(2)]}
    before = copy.deepcopy(document)
    _shapes.photos_from(document, race_id=7)
    assert document == before
    # The slow path too (a null bibs list is read by the converter, not msgspec).
    document = {"photos": [photo(1, bibs=None)]}
    before = copy.deepcopy(document)
    (only,) = _shapes.photos_from(document, race_id=7)
    assert only.race_id == 7 and document == before


# --- the API's tolerated variations, read from bytes -----------------------------------------


def test_string_album_ids_are_accepted() -> None:
    (p,) = read({"photos": [photo(album_id="reg-5100")]})
    assert p.album_id == "reg-5100"


@pytest.mark.parametrize("size", ["original", "thumbnail", "large"])
def test_missing_or_null_optional_sizes_are_none(size: str) -> None:
    absent, null = read({"photos": [photo(1, **{size: ...}), photo(2, **{size: None})]})
    assert getattr(absent, size) is None and getattr(null, size) is None
    assert absent.uploaded_filename == "a.jpg"


def test_null_or_missing_bibs_are_an_empty_tuple() -> None:
    missing, null = read({"photos": [photo(1, bibs=...), photo(2, bibs=None)]})
    assert missing.bibs == () and null.bibs == ()
    assert null.race_id == 7 and null.uploaded_ts.tzinfo is timezone.utc


def test_albums_with_string_ids_and_no_timestamp() -> None:
    albums = _shapes.albums_from(
        body(
            {
                "albums": [
                    {
                        "album_id": "reg-6827",
                        "race_event_days_id": 2,
                        "album_url": "https://runsignup.test/a",
                        "album_name": "All Participant Uploads",
                        "num_photos": 3,
                    },
                    {
                        "album_id": 11,
                        "race_event_days_id": 2,
                        "album_url": "u",
                        "album_name": "n",
                        "num_photos": 0,
                        "last_modified_ts": 5,
                    },
                ]
            }
        )
    )
    assert [a.album_id for a in albums] == ["reg-6827", 11]
    assert albums[0].last_modified_ts is None and albums[0].album_url.startswith("https://")
    assert albums[1].last_modified_ts == datetime(1970, 1, 1, 0, 0, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "document",
    [
        {"race": {"race_id": 9, "events": [{"event_id": 1}, {"event_id": 2}]}},
        {"race_id": 9, "events": [{"event_id": 1}, {"event_id": 2}]},
        {"race_id": 9, "event_ids": [1, 2]},
    ],
)
def test_either_race_answer_shape_from_bytes(document: Any) -> None:
    assert _shapes.race_result_from(body(document)) == RaceResult(race_id=9, event_ids=(1, 2))


@pytest.mark.parametrize(
    "document",
    [{"team_type_ids": [5, 6]}, {"race_team_types": [{"team_type_id": 5}, {"team_type_id": 6}]}],
)
def test_either_team_types_answer_shape_from_bytes(document: Any) -> None:
    assert _shapes.team_type_ids_from(body(document)) == [5, 6]


# --- errors ----------------------------------------------------------------------------------


def test_a_bad_field_is_named_by_its_json_path_with_its_photo_as_the_snippet() -> None:
    error = decode_error({"photos": [photo(0), photo(1), photo(2), photo(3, photo_id="3")]})
    assert error.path == "$.photos[3].photo_id"
    assert error.reason.startswith("unexpected response shape at $.photos[3].photo_id:")
    assert "expected an integer, got str '3'" in error.reason
    assert error.snippet.startswith('{"photo_id": "3", "album_id": 21')
    assert len(error.snippet) <= 160
    assert "api.test" in error.url and "the-key-1234" not in error.url


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"photos": [photo(1, original={**image(), "width": None})]}, "$.photos[0].original.width"),
        ({"photos": [photo(1, bibs=[1, "2"])]}, "$.photos[0].bibs[1]"),
        ({"photos": [photo(1, uploaded_ts="2020-06-30")]}, "$.photos[0].uploaded_ts"),
        ({"photos": [photo(1, uploaded_ts=10**20)]}, "$.photos[0].uploaded_ts"),
        ({"photos": [photo(1, photo_id=...)]}, "$.photos[0].photo_id"),
        ({"photos": None}, "$.photos"),
        ({"albums": []}, "$.photos"),
        ([1, 2], "$"),
    ],
)
def test_every_kind_of_misfit_names_its_path(document: Any, path: str) -> None:
    error = decode_error(document)
    assert error.path == path
    assert error.reason.startswith(f"unexpected response shape at {path}:")


def test_snippets_and_reasons_are_scrubbed() -> None:  # issue 15 #6
    signed = "https://s3.test/p.jpg?X-Amz-Credential=AKIA123456&X-Amz-Signature=f00dfeed1234"
    echoed = photo(
        2,
        photo_id="the-secret-5678",  # the bad value itself, quoted in the reason
        album_id="the-secret-5678",
        original={"image_url": signed, "height": 1, "width": 2},
    )
    error = decode_error({"photos": [photo(1), echoed]})
    assert error.reason.startswith("unexpected response shape at $.photos[1].photo_id:")
    text = str(error) + error.snippet + error.reason
    for leaked in ("the-secret-5678", "AKIA123456", "f00dfeed1234"):
        assert leaked not in text
    assert "X-Amz-Credential=***" in error.snippet and '"album_id": "***"' in error.snippet


def test_an_error_envelope_is_the_api_error_it_carries_not_a_misfit() -> None:
    with pytest.raises(AuthenticationError):
        read({"error": {"error_code": 6, "error_msg": "Invalid API key."}})
    with pytest.raises(RateLimitError):  # even beside a list that would fit
        read({"photos": [], "error": {"error_code": 14, "error_msg": "Request throttled."}})


def test_not_json_is_still_said_to_be_not_json() -> None:
    def answer(raw: bytes) -> ResponseDecodeError:
        with pytest.raises(ResponseDecodeError) as caught:
            decipher(200, {}, raw, method="GET", url="u", decode=_shapes.photos_from)
        return caught.value

    assert answer(b'{"photos": [{"photo_id": 1,').reason == "truncated or malformed JSON"
    assert answer(b"<html>busy</html>").reason == "HTML page instead of JSON"


def test_shape_error_paths_read_as_json_paths() -> None:
    assert ShapeError("photos[3].photo_id", "x").json_path == "$.photos[3].photo_id"
    assert ShapeError("$", "x").json_path == "$"
    assert ShapeError("[1]", "x").json_path == "$[1]"


def test_no_code_of_ours_generates_code() -> None:
    package = Path(runsignup_async.__file__).parent
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for call in ("exec(", "compile(", "eval("):
            assert call not in text.replace("re.compile(", ""), f"{call} in {source.name}"
