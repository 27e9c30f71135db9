"""runsignup-async: an async SDK for the RunSignup REST API.

Everything a user needs is importable from here; the modules behind it are private.
"""

from ._client import Client, RequestEvent, ResponseEvent
from ._pagination import ManyReport, PagePosition, PhotoIterator, RaceDay, RaceDayIterator
from ._ratelimit import RateLimit
from ._retry import RetryPolicy
from ._shared import LimitsSnapshot
from ._transport import Download
from .auth import (
    ApiKeyAuth,
    Auth,
    BearerAuth,
    ProtectedApiSigner,
    SuperPartnerAuth,
    TempKeyAuth,
    V2KeyAuth,
)
from .endpoints import Activities, Photos, Races, Teams
from .errors import (
    APIError,
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    DestinationBusyError,
    DownloadError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    QueueError,
    RateLimitError,
    ResponseDecodeError,
    RunSignupError,
    ServerError,
    StoreError,
    TransportError,
    ValidationError,
)
from .harvester import HarvestEvent, HarvestSummary, harvest
from .models import (
    NOT_GIVEN,
    Activity,
    Address,
    Album,
    Event,
    NotGiven,
    Photo,
    PhotoImage,
    Race,
    RaceResult,
    TeamType,
)

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "APITimeoutError",
    "Activities",
    "Activity",
    "Address",
    "Album",
    "ApiKeyAuth",
    "Auth",
    "AuthenticationError",
    "BearerAuth",
    "Client",
    "ClientClosedError",
    "DestinationBusyError",
    "Download",
    "DownloadError",
    "Event",
    "HarvestEvent",
    "HarvestSummary",
    "InvalidRequestError",
    "LimitsSnapshot",
    "ManyReport",
    "NOT_GIVEN",
    "NotFoundError",
    "NotGiven",
    "PagePosition",
    "PermissionDeniedError",
    "Photo",
    "PhotoImage",
    "PhotoIterator",
    "Photos",
    "ProtectedApiSigner",
    "QueueError",
    "Race",
    "RaceDay",
    "RaceDayIterator",
    "RaceResult",
    "Races",
    "RateLimit",
    "RateLimitError",
    "RequestEvent",
    "ResponseDecodeError",
    "ResponseEvent",
    "RetryPolicy",
    "RunSignupError",
    "ServerError",
    "StoreError",
    "SuperPartnerAuth",
    "TeamType",
    "Teams",
    "TempKeyAuth",
    "TransportError",
    "V2KeyAuth",
    "ValidationError",
    "__version__",
    "harvest",
]
