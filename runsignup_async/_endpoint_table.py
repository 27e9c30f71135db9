"""Every endpoint the SDK calls, declared once.

The endpoint coroutines read their method, path and accepted credentials here; the client
reads whether a call may be sent twice; the CLI picks credentials from the same modes;
and the docs' endpoint table is rendered from it. A rule about an endpoint lives in this
table and nowhere else.

Protected calls (create/edit race) carry a ``protected_api_signature`` on top of the
client's credentials, never instead of them: nothing on the page says the signature
replaces the key, and a server that wants both would answer error 6.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from ._protocol import is_idempotent
from .auth import (
    ApiKeyAuth,
    Auth,
    BearerAuth,
    SuperPartnerAuth,
    TempKeyAuth,
    V2KeyAuth,
)
from .errors import ValidationError

__all__ = ["ENDPOINTS", "Endpoint", "endpoint"]


@attrs.frozen
class Endpoint:
    """One API method: how it is called and which credentials it takes."""

    name: str
    method: str
    path: str  # a template: "/race/{race_id}/teams/team-types"
    auth: tuple[type[Auth], ...]  # the modes its page lists, the CLI's preference first
    page: str  # its RunSignup documentation page
    signed: bool = False

    @property
    def idempotent(self) -> bool:
        """Whether sending it twice is harmless (only then is an unclear failure retried)."""
        return is_idempotent(self.method)

    def url_path(self, **ids: int) -> str:
        return self.path.format(**ids)

    def credentials(self, auth: Auth | None) -> Auth:
        """``auth`` if this endpoint takes its mode; a ``ValidationError`` naming them if not."""
        if isinstance(auth, self.auth):
            return auth
        names = ", ".join(cls.__name__ for cls in self.auth)
        have = type(auth).__name__ if auth is not None else "no credentials"
        extra = " (the signature comes on top of them)" if self.signed else ""
        raise ValidationError("auth", f"{self.name} takes {names}{extra}; this client has {have}")


_EVERY_MODE: Final = (V2KeyAuth, ApiKeyAuth, SuperPartnerAuth, TempKeyAuth, BearerAuth)

ENDPOINTS: Final[Mapping[str, Endpoint]] = {
    e.name: e
    for e in (
        Endpoint(
            name="get-race-photo-albums",
            method="GET",
            path="/v2/photos/get-race-photo-albums.json",
            auth=(V2KeyAuth, ApiKeyAuth),
            page="https://runsignup.com/API/photos/get-race-photo-albums/GET",
        ),
        Endpoint(
            name="get-race-photos",
            method="GET",
            path="/v2/photos/get-race-photos.json",
            auth=(V2KeyAuth,),  # the page requires rsu_api_key + X-RSU-API-SECRET
            page="https://runsignup.com/API/photos/get-race-photos/GET",
        ),
        Endpoint(
            name="vr-activities",
            method="POST",
            path="/v2/vr-activities.json",
            auth=(V2KeyAuth, ApiKeyAuth, SuperPartnerAuth, TempKeyAuth),
            page="https://runsignup.com/API/v2/vr-activities.json/POST",
        ),
        Endpoint(
            name="team-types",
            method="POST",
            path="/race/{race_id}/teams/team-types",
            auth=(V2KeyAuth, ApiKeyAuth, SuperPartnerAuth, BearerAuth),
            page="https://runsignup.com/API/race/:race_id/teams/team-types/POST",
        ),
        Endpoint(
            name="get-race",
            method="GET",
            path="/race/{race_id}",
            # The single-race page is not among those we hold; FACTS.md's modes apply to
            # every method, and a v2 key (the harvester's) comes first.
            auth=_EVERY_MODE,
            page="https://runsignup.com/API/race/:race_id/GET",
        ),
        Endpoint(
            name="race",
            method="POST",
            path="/race",
            # The page lists tmp_key; FACTS.md's modes apply to every method, and the
            # signature is checked on top of whichever the caller holds.
            auth=(TempKeyAuth, *(m for m in _EVERY_MODE if m is not TempKeyAuth)),
            page="https://runsignup.com/API/race/POST",
            signed=True,
        ),
    )
}


def endpoint(name: str) -> Endpoint:
    return ENDPOINTS[name]
