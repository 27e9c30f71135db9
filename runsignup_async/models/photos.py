"""Response models of the photo endpoints: ``Album``, ``Photo`` and its ``PhotoImage`` sizes.

Attribute names are the API's field names (see get-race-photo-albums and get-race-photos).
These models carry no validators or converters: ``_decode`` reads an answer's bytes
straight into them (msgspec), which checks every field's type as it goes.
"""

from __future__ import annotations

import attrs

from ._common import UnixTime

__all__ = ["Album", "Photo", "PhotoImage"]


@attrs.frozen(kw_only=True)
class PhotoImage:
    """One size of a photo (``original``, ``thumbnail`` or ``large``)."""

    image_url: str
    height: int
    width: int


@attrs.frozen(kw_only=True)
class Photo:
    """One race photo.

    ``album_id`` is an int, or a string such as ``"reg-6827"`` for participant uploads.
    ``uploaded_ts`` is an aware UTC datetime (the API sends unix seconds).
    ``race_id`` is not part of the API's answer: the SDK's iterators set it so a photo
    knows its race; it is left out when unstructuring while ``None``.
    """

    photo_id: int
    album_id: int | str
    race_event_days_id: int
    bibs: tuple[int, ...] = ()
    original: PhotoImage | None = None
    thumbnail: PhotoImage | None = None
    large: PhotoImage | None = None
    uploaded_filename: str | None = None
    uploaded_ts: UnixTime
    race_id: int | None = None


@attrs.frozen(kw_only=True)
class Album:
    """One photo album of a race event day.

    ``album_id`` is an int, or a string such as ``"reg-6827"`` for "All Participant
    Uploads", which has no ``last_modified_ts`` (then ``None``).
    """

    album_id: int | str
    race_event_days_id: int
    album_url: str
    album_name: str
    last_modified_ts: UnixTime | None = None
    num_photos: int
