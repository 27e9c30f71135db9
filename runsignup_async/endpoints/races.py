"""Reading one race, and creating and editing races (a protected API: every write is signed).

``update`` is the safe way to change part of a race: an edit replaces the whole race, so
it reads the race first and sends everything back with the change applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from .. import _race_answer, _shapes
from .._convert import ShapeError
from .._decode import document_of
from .._endpoint_table import ENDPOINTS
from ..auth import ProtectedApiSigner
from ..errors import ResponseDecodeError, ValidationError
from ..models import NOT_GIVEN, Race, RaceResult
from ._base import Namespace, check_id

ENDPOINT = ENDPOINTS["race"]
GET = ENDPOINTS["get-race"]
Change = Mapping[str, Any] | Callable[[Race], Race]
# What ``update`` may change: the fields an edit sends (url_string is refused by edit).
_FIELDS = frozenset(a.name for a in attrs.fields(Race))


class Races(Namespace):
    """``client.races``: read, create, edit or update a race."""

    async def get(self, race_id: int) -> Race:
        """The race with all its events. https://runsignup.com/API/race/:race_id/GET

        Each event carries its ``event_id`` and ``race_event_days_id``. Fields the answer
        has that an edit does not take (``url``, ``description`` ...) are left out, and
        times are read to the minute (the answer gives ``M/D/YYYY HH:MM``).
        """
        race_id = check_id("race_id", race_id)
        path = GET.url_path(race_id=race_id)
        return await self._call(GET, _race_of_answer, path=path)

    async def race_days(self, race_id: int) -> list[int]:
        """The distinct ``race_event_days_id`` of a race's events, newest first.

        Newest is the day whose latest event starts last; days starting together are
        ordered by id, highest first (ids grow as days are added). One GET of the race;
        an answer whose events carry no ``race_event_days_id`` is a ``ResponseDecodeError``.
        """
        race = await self.get(race_id)
        try:
            return _days_newest_first(race)
        except ShapeError as misfit:  # the answer read, but not one a race's days come from
            raise ResponseDecodeError(
                f"unexpected response shape at {misfit.json_path}: {misfit.problem}",
                status=200,
                content_type="application/json",
                snippet="",
                method=GET.method,
                url=GET.url_path(race_id=race_id),
                path=misfit.json_path,
            ) from None

    async def update(
        self, race_id: int, changes: Change, *, signer: ProtectedApiSigner | None = None
    ) -> RaceResult:
        """Change part of a race and keep the rest: read it, apply ``changes``, send it all.

        ``changes`` is a mapping of ``Race`` field to new value (``{"name": "New name"}``)
        or a function from the race as read to the race to send
        (``lambda race: attrs.evolve(race, events=race.events[:1])``). Every event is
        sent back with its ``event_id``, so it is kept, unless the change removes it.
        When the change removes no event, the edit also asks the API to keep events it
        did not list (``preserve_missing_events``), such as one added since the read.
        When it adds none, the edit sets ``allow_past_event_creation``, without which
        the API refuses to take back a race's past events (error 227); a change that adds
        an event to a race with past events must set that flag itself.

        The read and the write are two calls, and the API has no version check: a change
        someone else makes to the race between them is overwritten (last writer wins).
        Give one tool or person the job of editing a race. An unknown field is refused
        before anything is sent; a race whose answer lacks ``contact_email`` (keys not
        authorised to read it) is refused unless ``changes`` sets it, since the edit
        would erase it.
        """
        race_id = check_id("race_id", race_id)
        self._auth(ENDPOINT)
        signer = self._signer(signer)
        apply = _change(changes)
        race = await self.get(race_id)
        updated = apply(race)
        if not isinstance(updated, Race):
            raise ValidationError(
                "changes", f"the function must return a Race, got {type(updated).__name__}"
            )
        if updated.contact_email is NOT_GIVEN:
            raise ValidationError(
                "contact_email",
                "the race as read has none (the key may not be authorised to read it) and"
                " an edit without it would erase it: set it in changes",
            )
        return await self.edit(race_id=race_id, race=_flags(race, updated), signer=signer)

    async def create(self, race: Race, *, signer: ProtectedApiSigner | None = None) -> RaceResult:
        """Create a race; returns its id and event ids. https://runsignup.com/API/race/POST

        ``url_string`` is required and must be unique (error 216 otherwise). Not
        idempotent: a race created twice exists twice, so the client re-sends it only when
        the server provably did not process it.
        """
        self._auth(ENDPOINT)
        signer = self._signer(signer)
        _check_race(race)
        if race.url_string is NOT_GIVEN or race.url_string is None or not race.url_string:
            raise ValidationError("race.url_string", "is required to create a race")
        return await self._post(race, signer, race_id=None)

    async def edit(
        self, *, race_id: int, race: Race, signer: ProtectedApiSigner | None = None
    ) -> RaceResult:
        """Edit a race; returns its id and event ids. https://runsignup.com/API/race/POST

        DESTRUCTIVE: send the whole race as it should be. Fields left out become null and
        events left out are deleted (unless ``preserve_missing_events=True``). Give each
        event you keep its ``event_id``.
        """
        race_id = check_id("race_id", race_id)
        self._auth(ENDPOINT)
        signer = self._signer(signer)
        _check_race(race)
        if race.url_string is not NOT_GIVEN:
            raise ValidationError(
                "race.url_string", "cannot be changed by an edit; leave it out (NOT_GIVEN)"
            )
        return await self._post(race, signer, race_id=race_id)

    async def _post(
        self, race: Race, signer: ProtectedApiSigner, *, race_id: int | None
    ) -> RaceResult:
        return await self._call(
            ENDPOINT,
            _shapes.race_result_from,
            params={"race_id": race_id},
            payload=_shapes.race_payload(race),
            signer=signer,
        )


def _race_of_answer(body: bytes) -> Race:
    return _race_answer.race_from(document_of(body))


def _days_newest_first(race: Race) -> list[int]:
    latest: dict[int, tuple[datetime, int]] = {}
    for event in race.events:
        day = event.race_event_days_id
        if isinstance(day, int):
            key = (event.start_time, day)
            latest[day] = max(latest.get(day, key), key)
    if not latest:
        raise ShapeError("race.events", "no event carries a race_event_days_id")
    return sorted(latest, key=latest.__getitem__, reverse=True)


def _flags(read: Race, updated: Race) -> Race:
    """The edit flags ``update`` sets itself, where the caller left them out.

    ``preserve_missing_events`` when no event read is removed: it also keeps events added
    since the read. ``allow_past_event_creation`` when no event is added: the API refuses
    (error 227) an edit that sends a past event without it, and update sends every event
    of the race again; an added event could be a past one, so then it is the caller's call.
    """
    read_ids = {e.event_id for e in read.events}
    sent_ids = {e.event_id for e in updated.events}
    preserve, allow_past = updated.preserve_missing_events, updated.allow_past_event_creation
    if preserve is NOT_GIVEN and sent_ids >= read_ids:
        preserve = True
    if allow_past is NOT_GIVEN and sent_ids <= read_ids:
        allow_past = True
    return attrs.evolve(
        updated, preserve_missing_events=preserve, allow_past_event_creation=allow_past
    )


def _change(changes: object) -> Callable[[Race], Race]:
    """``changes`` as a function of the race, its field names checked before any call."""
    if callable(changes):
        return changes
    if not isinstance(changes, Mapping):
        raise ValidationError(
            "changes", f"must be a mapping of field to value or a function, got {changes!r}"
        )
    for name in changes:
        if name not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            raise ValidationError(f"changes.{name}", f"unknown field of Race; known: {known}")
    fields = dict(changes)
    return lambda race: attrs.evolve(race, **fields)


def _check_race(race: object) -> None:
    if not isinstance(race, Race):
        raise ValidationError("race", f"must be a Race, got {type(race).__name__}")
