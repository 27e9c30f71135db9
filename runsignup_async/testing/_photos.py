"""Handlers of the two photo endpoints: get-race-photo-albums and get-race-photos."""

from __future__ import annotations

from typing import Any

from ._data import RaceDay
from ._state import Call, RaceCheck, ServerState
from ._wire import INVALID_ID, INVALID_PARAMS, ApiFailure, dump_json, opt_int, req_int, tf_flag

__all__ = ["get_albums", "get_photos"]

DEFAULT_NUM = 100


def race_day(state: ServerState, call: Call) -> RaceDay:
    """The race day named by race_id and race_event_days_id; code 15 if there is none."""
    race_id = req_int(call.params, "race_id")
    days_id = req_int(call.params, "race_event_days_id")
    if race_id not in state.data.races:
        raise ApiFailure(INVALID_ID, f"Invalid ID: race {race_id} not found.")
    day = state.data.days.get((race_id, days_id))
    if day is None:
        raise ApiFailure(INVALID_ID, f"Invalid ID: race event day {days_id} not found.")
    return day


def get_albums(state: ServerState, call: Call, race_ok: RaceCheck) -> Any:
    day = race_day(state, call)
    race_ok(day.race_id)
    return {"albums": state.data.albums_json(day, state.site_url)}


def get_photos(state: ServerState, call: Call, race_ok: RaceCheck) -> Any:
    """The page of photos as pre-rendered JSON text (rendering is the hot path)."""
    params = call.params
    day = race_day(state, call)
    page = opt_int(params, "page")
    if page is None:
        page = 1
    elif page < 1:
        raise ApiFailure(INVALID_PARAMS, "Invalid value for parameter page: must be >= 1")
    num = opt_int(params, "num")
    if num is None:
        num = DEFAULT_NUM
    elif num < 1:
        raise ApiFailure(INVALID_PARAMS, "Invalid value for parameter num: must be >= 1")
    if state.options.max_page_size is not None:
        num = min(num, state.options.max_page_size)  # silently, as a real server might
    since = opt_int(params, "uploaded_since_timestamp")
    with_participants = tf_flag(params, "include_participant_uploads", True)
    album_id = opt_int(params, "generic_photo_album_id")
    if album_id is not None and album_id not in day.albums:
        raise ApiFailure(INVALID_ID, f"Invalid ID: photo album {album_id} not found.")
    race_ok(day.race_id)

    photos = day.ordered(state.options.photo_order)
    if since is not None or not with_participants or album_id is not None:
        # uploaded_since_timestamp is inclusive: a photo uploaded at that second is listed.
        photos = [
            p
            for p in photos
            if (since is None or p.uploaded_ts >= since)
            and (with_participants or not p.participant_upload)
            and (album_id is None or p.album_id == album_id)
        ]
    start = (page - 1) * num
    cache = state.photo_cache
    parts = []
    for photo in photos[start : start + num]:
        text = cache.get(photo.photo_id)
        if text is None:
            text = cache[photo.photo_id] = dump_json(photo.to_json(state.image_base_url))
        parts.append(text)
    return '{"photos":[' + ",".join(parts) + "]}"
