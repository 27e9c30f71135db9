"""``--redis URL`` (or ``RUNSIGNUP_REDIS_URL``): share one key's limits between processes.

A URL with a password is taken from the environment only: a command line is visible to
every user of the machine (``ps``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .._redact import redact_userinfo
from ._output import CliError

__all__ = ["REDIS_ENV", "add_redis_flag", "redis_options"]

REDIS_ENV = "RUNSIGNUP_REDIS_URL"


def add_redis_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis",
        metavar="URL",
        help=f"share rate, concurrency and throttle pauses with every process of this key"
        f" through Redis (redis://HOST:PORT/DB; default: ${REDIS_ENV}; a URL with a"
        f" password only through ${REDIS_ENV})",
    )


def redis_options(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``Client`` keyword arguments for the Redis named by the flag or the environment."""
    environ = os.environ if environ is None else environ
    url = getattr(args, "redis", None)
    if url:
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            raise CliError(
                f"--redis {redact_userinfo(url)}: a password on the command line is visible"
                f" to every user of this machine; set {REDIS_ENV} instead"
            )
    else:
        url = environ.get(REDIS_ENV, "")
    return {"shared_limits": url} if url else {}
