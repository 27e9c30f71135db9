"""Answers read from their bytes straight into the models, in one pass (msgspec).

msgspec decodes into the frozen attrs models themselves and checks every field's type
as it goes; the models stay plain attrs classes, the public types. What msgspec does not
do is made good right after, on the objects it just built and nobody else holds yet: a
``*_ts`` field arrives as unix seconds and becomes an aware UTC datetime, and a listed
photo is tagged with its race.

When the fast path refuses an answer, the document is handed to the cattrs converter
(``_convert.structure``), which accepts exactly what the API's conventions allow (a
``null`` list of bibs, say) or names every bad field in a ``ShapeError``. Answers that
are not JSON, or that carry an error envelope, raise ``ShapeError`` too: the caller
(``_protocol.decipher``) then reads them the slow way and raises what they describe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, TypeVar

import attrs
import msgspec

from ._convert import ShapeError, structure
from .models import Album, Photo
from .models._common import describe

__all__ = ["document_of", "list_under", "read_albums", "read_photos"]

T = TypeVar("T")

# The models' slot setters: how attrs itself fills a frozen instance, minus the lookup.
_SET_UPLOADED: Final[Any] = vars(Photo)["uploaded_ts"].__set__
_SET_RACE_ID: Final[Any] = vars(Photo)["race_id"].__set__
_SET_MODIFIED: Final[Any] = vars(Album)["last_modified_ts"].__set__


@attrs.frozen
class _Photos:
    """A get-race-photos answer; ``error`` is here so that an envelope is noticed."""

    photos: list[Photo]
    error: object = None


@attrs.frozen
class _Albums:
    albums: list[Album]
    error: object = None


_UNFIT: Final = (msgspec.MsgspecError, ValueError)


def _datetimes(seconds: list[Any]) -> list[Any]:
    """Aware UTC datetimes of unix seconds (``None`` stays ``None``), built in C.

    msgspec turns numbers into datetimes only in its lax mode; every value here has
    already been checked to be a number (or null) by the strict decode, so nothing else
    that lax mode would accept can reach it. Out of range: ``msgspec.ValidationError``.
    """
    return msgspec.convert(seconds, list[datetime | None], strict=False)


def _page(decoder: msgspec.json.Decoder[T], page_type: type[T], source: bytes | Any) -> T:
    if isinstance(source, bytes):
        return decoder.decode(source)
    return msgspec.convert(source, page_type)


def _refused(page: Any) -> None:
    if page.error is not None:
        raise ShapeError("error", "the answer is an error envelope")


def document_of(source: bytes | Any) -> Any:
    """The JSON document of an answer's bytes (or the document given).

    Not JSON, or an error envelope: ``ShapeError``, for the caller to read the slow way.
    """
    document = source
    if isinstance(source, bytes):
        try:
            document = msgspec.json.decode(source)
        except msgspec.DecodeError as not_json:
            raise ShapeError("$", f"not JSON: {not_json}") from None
    if isinstance(document, dict) and document.get("error") is not None:
        raise ShapeError("error", "the answer is an error envelope")
    return document


def list_under(document: Any, key: str) -> list[Any]:
    """``document[key]``, a list, or a ``ShapeError`` saying what is there instead."""
    if not isinstance(document, dict):
        raise ShapeError("$", f"expected an object with {key!r}, got {describe(document)}")
    if key not in document:
        keys = ", ".join(map(repr, list(document)[:8])) or "none"
        raise ShapeError(key, f"required field missing (keys: {keys})")
    items = document[key]
    if not isinstance(items, list):
        raise ShapeError(key, f"expected a list, got {describe(items)}")
    return items


_PHOTOS: Final = msgspec.json.Decoder(_Photos)
_ALBUMS: Final = msgspec.json.Decoder(_Albums)


def read_photos(source: bytes | Any, *, race_id: int | None = None) -> list[Photo]:
    """The photos of a get-race-photos answer ``{"photos": [...]}`` (its bytes or its
    document), each tagged with ``race_id`` (the answer omits it). A document given is
    left as it was."""
    try:
        page = _page(_PHOTOS, _Photos, source)
        _refused(page)
        listed: list[Photo] = page.photos
        stamps = _datetimes([photo.uploaded_ts for photo in listed])
        for photo, stamp in zip(listed, stamps, strict=True):
            _SET_UPLOADED(photo, stamp)
            if race_id is not None:
                _SET_RACE_ID(photo, race_id)
        return listed
    except _UNFIT:
        pass  # explained (or accepted) below, out of the except block: no chained context
    photos: list[Photo] = structure(
        list_under(document_of(source), "photos"), list[Photo], path="photos"
    )
    if race_id is not None:
        for photo in photos:
            _SET_RACE_ID(photo, race_id)
    return photos


def read_albums(source: bytes | Any) -> list[Album]:
    """The albums of a get-race-photo-albums answer ``{"albums": [...]}``."""
    try:
        page = _page(_ALBUMS, _Albums, source)
        _refused(page)
        albums = page.albums
        stamps = _datetimes([album.last_modified_ts for album in albums])
        for album, stamp in zip(albums, stamps, strict=True):
            _SET_MODIFIED(album, stamp)
        return albums
    except _UNFIT:
        pass
    return structure(list_under(document_of(source), "albums"), list[Album], path="albums")
