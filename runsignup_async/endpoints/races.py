"""Creating and editing races (a protected API: every call is signed)."""

from __future__ import annotations

from .. import _shapes
from .._endpoint_table import ENDPOINTS
from ..auth import ProtectedApiSigner
from ..errors import ValidationError
from ..models import NOT_GIVEN, Race, RaceResult
from ._base import Namespace, check_id, decode

ENDPOINT = ENDPOINTS["race"]


class Races(Namespace):
    """``client.races``: create or edit a race."""

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
        document = await self._call(
            ENDPOINT, params={"race_id": race_id}, payload=_shapes.race_payload(race), signer=signer
        )
        return decode(
            document, _shapes.race_result_from, method=ENDPOINT.method, path=ENDPOINT.path
        )


def _check_race(race: object) -> None:
    if not isinstance(race, Race):
        raise ValidationError("race", f"must be a Race, got {type(race).__name__}")
