"""The one place secrets are scrubbed from what we log or put in an exception.

Auth objects render themselves redacted; URLs, headers and body snippets go through the
functions here before they reach a log line or an error message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"

# Every query parameter that carries a credential. Keys are redacted too: an API key
# identifies an account and is half of a credential pair.
SECRET_PARAMS = frozenset(
    {
        "api_key",
        "api_secret",
        "tmp_key",
        "tmp_secret",
        "rsu_api_key",
        "sp_api_key",
        "protected_api_signature",
        # Pre-signed image URLs (S3, CloudFront): whoever holds one can fetch the object.
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "signature",
    }
)
SECRET_HEADERS = frozenset({"x-rsu-api-secret", "authorization"})


def redact_url(url: str) -> str:
    """``url`` with the value of every credential query parameter replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    clean = [(k, REDACTED if k.lower() in SECRET_PARAMS else v) for k, v in pairs]
    return urlunsplit(parts._replace(query=urlencode(clean, safe="*")))


def redact_params(params: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SECRET_PARAMS else v) for k, v in params.items()}


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


# Scrubbing a value this short out of free text would mangle ordinary words; real keys
# and secrets are far longer.
MIN_SCRUBBED_LENGTH = 6


# A credential parameter inside free text (a pre-signed image URL quoted in an answer):
# its value runs to the next separator of a query, a quote, a bracket or whitespace.
_SECRET_PARAM_IN_TEXT = re.compile(
    r"([?&;](?:" + "|".join(map(re.escape, sorted(SECRET_PARAMS))) + r")=)[^&;\s\"'<>\\]*",
    re.IGNORECASE,
)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret value (a server may echo them) and the value of every
    credential parameter of a URL inside it replaced: the one scrubber of free text that
    reaches a log line or an exception."""
    for secret in secrets:
        if len(secret) >= MIN_SCRUBBED_LENGTH:
            text = text.replace(secret, REDACTED)
    return _SECRET_PARAM_IN_TEXT.sub(r"\1" + REDACTED, text)


def redact_userinfo(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{REDACTED}@{host}"))
