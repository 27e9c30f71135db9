"""What each endpoint's documents look like: the answers it reads and the payloads it sends.

Every reader takes an answer's bytes (or its decoded document), accepts each plausible
shape of it (FACTS.md marks several as unverified) and fails with ``ShapeError`` naming
the path, never with a ``KeyError``. The photo and album listings are decoded in one
pass by ``_decode``; the POST answers, small and rare, go through the converter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import attrs

from ._convert import ShapeError, structure, unstructure
from ._decode import document_of, list_under, read_albums, read_photos
from .errors import ValidationError
from .models import Activity, Album, Photo, Race, RaceResult, TeamType
from .models._common import build_all, describe

__all__ = [
    "activities_payload",
    "albums_from",
    "photos_from",
    "race_payload",
    "race_result_from",
    "tally_split_nums_from",
    "team_type_ids_from",
    "team_types_payload",
]

T = TypeVar("T")


# --- responses -----------------------------------------------------------------------------


def photos_from(source: bytes | Any, *, race_id: int | None = None) -> list[Photo]:
    """The photos of a get-race-photos answer ``{"photos": [...]}``, bytes or document.

    ``race_id`` tags every photo with the race it was listed for (the answer omits it).
    """
    return read_photos(source, race_id=race_id)


def albums_from(source: bytes | Any) -> list[Album]:
    """The albums of a get-race-photo-albums answer ``{"albums": [...]}``, bytes or document."""
    return read_albums(source)


def tally_split_nums_from(source: bytes | Any) -> list[int]:
    """The numbers of the activities a vr-activities POST added."""
    items = list_under(document_of(source), "tally_split_nums")
    return structure(items, list[int], path="tally_split_nums")


@attrs.frozen
class _TeamTypeRef:
    team_type_id: int


def team_type_ids_from(source: bytes | Any) -> list[int]:
    """The team type ids a team-types POST answered, in request order.

    Accepts ``{"team_type_ids": [...]}`` or ``{"race_team_types": [{"team_type_id": ..}]}``.
    """
    document = document_of(source)
    if isinstance(document, Mapping) and "team_type_ids" in document:
        return structure(list_under(document, "team_type_ids"), list[int], path="team_type_ids")
    if isinstance(document, Mapping) and "race_team_types" in document:
        refs = structure(
            list_under(document, "race_team_types"),
            list[_TeamTypeRef],
            path="race_team_types",
        )
        return [ref.team_type_id for ref in refs]
    raise ShapeError("$", f"expected 'team_type_ids' or 'race_team_types', got {_keys(document)}")


@attrs.frozen
class _EventRef:
    event_id: int


@attrs.frozen
class _RaceWithEvents:
    race_id: int
    events: list[_EventRef]


def race_result_from(source: bytes | Any) -> RaceResult:
    """The race and event ids a create/edit race POST answered.

    Accepts ``{"race": {"race_id": .., "events": [{"event_id": ..}, ..]}}``, or the same
    at the top level, or ``{"race_id": .., "event_ids": [..]}``.
    """
    document = document_of(source)
    path = ""
    if isinstance(document, Mapping) and "race" in document and "race_id" not in document:
        document, path = document["race"], "race"
    if not isinstance(document, Mapping) or "race_id" not in document:
        raise ShapeError(path or "$", f"expected an object with 'race_id', got {_keys(document)}")
    if "event_ids" in document:
        return structure(document, RaceResult, path=path)
    if "events" in document:
        race = structure(document, _RaceWithEvents, path=path)
        return RaceResult(race_id=race.race_id, event_ids=tuple(e.event_id for e in race.events))
    where = f"{path}.events" if path else "events"
    raise ShapeError(where, "required field missing (expected 'events' or 'event_ids')")


def _keys(document: Any) -> str:
    if isinstance(document, Mapping):
        return "keys " + (", ".join(map(repr, list(document)[:8])) or "none")
    return describe(document)


# --- request payloads ----------------------------------------------------------------------


def _models(
    cls: type[T], items: Iterable[T | Mapping[str, Any]], name: str, *, allow_empty: bool = False
) -> tuple[T, ...]:
    try:
        models = build_all(cls, items)
    except ValidationError as error:
        raise ValidationError(name + error.field, error.problem) from None
    except ValueError as problem:  # not a list at all
        raise ValidationError(name, str(problem)) from None
    if not models and not allow_empty:
        raise ValidationError(name, f"give at least one {cls.__name__}")
    return models


def activities_payload(activities: Iterable[Activity | Mapping[str, Any]]) -> dict[str, Any]:
    """The ``request`` object of POST vr-activities: ``{"activities": [...]}``."""
    return {"activities": [unstructure(a) for a in _models(Activity, activities, "activities")]}


def team_types_payload(team_types: Iterable[TeamType | Mapping[str, Any]]) -> dict[str, Any]:
    """The ``request`` object of POST team-types: ``{"race_team_types": [...]}``.

    (Whether an empty list, which deletes every type, may be sent is the endpoint's check.)
    """
    models = _models(TeamType, team_types, "team_types", allow_empty=True)
    return {"race_team_types": [unstructure(t) for t in models]}


def race_payload(race: Race | Mapping[str, Any]) -> dict[str, Any]:
    """The ``request`` object of POST /race (create or edit)."""
    payload: dict[str, Any] = unstructure(structure(race, Race))
    for event in payload["events"]:
        # Read from the API (races.get), assigned by it: not a field of the request.
        event.pop("race_event_days_id", None)
    return payload
