"""runsignup-async: an async SDK for the RunSignup REST API.

Everything a user needs is importable from here; the modules behind it are private.
"""

from ._client import Client, RequestEvent, ResponseEvent
from ._ratelimit import RateLimit
from ._retry import RetryPolicy
from .auth import (
    ApiKeyAuth,
    Auth,
    BearerAuth,
    ProtectedApiSigner,
    SuperPartnerAuth,
    TempKeyAuth,
    V2KeyAuth,
)
from .errors import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    RunSignupError,
    ServerError,
    TimeoutError,
    TransportError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "ApiKeyAuth",
    "Auth",
    "AuthenticationError",
    "BearerAuth",
    "Client",
    "ClientClosedError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProtectedApiSigner",
    "RateLimit",
    "RateLimitError",
    "RequestEvent",
    "ResponseDecodeError",
    "ResponseEvent",
    "RetryPolicy",
    "RunSignupError",
    "ServerError",
    "SuperPartnerAuth",
    "TempKeyAuth",
    "TimeoutError",
    "TransportError",
    "V2KeyAuth",
    "ValidationError",
    "__version__",
]
