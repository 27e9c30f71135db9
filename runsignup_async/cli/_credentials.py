"""Credentials for the CLI: flags first, then environment variables.

Each mode needs both of its values; the first complete mode in the command's order of
preference wins, unless ``--auth`` names one. ``--sp-api-key`` shares its secret with
the v2 key (both travel in ``X-RSU-API-SECRET``), hence ``RUNSIGNUP_RSU_API_SECRET``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from ..auth import (
    ApiKeyAuth,
    Auth,
    BearerAuth,
    ProtectedApiSigner,
    SuperPartnerAuth,
    TempKeyAuth,
    V2KeyAuth,
)
from ._output import CliError

__all__ = ["MODES", "add_credential_flags", "resolve_auth", "resolve_signer"]

# mode -> ((flag dest, env names), ...), auth factory
_Fields = tuple[tuple[str, tuple[str, ...]], ...]
MODES: Final[dict[str, tuple[_Fields, Callable[..., Auth]]]] = {
    "v2": (
        (("rsu_api_key", ("RUNSIGNUP_RSU_API_KEY",)),
         ("rsu_api_secret", ("RUNSIGNUP_RSU_API_SECRET",))),
        V2KeyAuth,
    ),
    "api": (
        (("api_key", ("RUNSIGNUP_API_KEY",)), ("api_secret", ("RUNSIGNUP_API_SECRET",))),
        ApiKeyAuth,
    ),
    "sp": (
        (("sp_api_key", ("RUNSIGNUP_SP_API_KEY",)),
         ("sp_api_secret", ("RUNSIGNUP_SP_API_SECRET", "RUNSIGNUP_RSU_API_SECRET"))),
        SuperPartnerAuth,
    ),
    "tmp": (
        (("tmp_key", ("RUNSIGNUP_TMP_KEY",)), ("tmp_secret", ("RUNSIGNUP_TMP_SECRET",))),
        TempKeyAuth,
    ),
    "bearer": ((("bearer_token", ("RUNSIGNUP_BEARER_TOKEN",)),), BearerAuth),
}  # fmt: skip
_SIGNER: Final = (
    ("signer_id", ("RUNSIGNUP_SIGNER_ID",)),
    ("signer_secret", ("RUNSIGNUP_SIGNER_SECRET",)),
)


def add_credential_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "credentials",
        "flags override the environment: RUNSIGNUP_API_KEY/_SECRET, RUNSIGNUP_RSU_API_KEY/"
        "_SECRET, RUNSIGNUP_SP_API_KEY (+ RUNSIGNUP_RSU_API_SECRET), RUNSIGNUP_TMP_KEY/"
        "_SECRET, RUNSIGNUP_BEARER_TOKEN, RUNSIGNUP_SIGNER_ID/_SECRET",
    )
    group.add_argument("--auth", choices=list(MODES), help="which credentials to use")
    for fields, _ in MODES.values():
        for dest, _env in fields:
            group.add_argument("--" + dest.replace("_", "-"), dest=dest, metavar="VALUE")
    for dest, _env in _SIGNER:
        group.add_argument("--" + dest.replace("_", "-"), dest=dest, metavar="VALUE")


def _value(
    args: argparse.Namespace, dest: str, env: Sequence[str], environ: Mapping[str, str]
) -> str:
    flag = getattr(args, dest, None)
    if flag:
        return str(flag)
    return next((environ[name] for name in env if environ.get(name)), "")


def resolve_auth(
    args: argparse.Namespace,
    prefer: Sequence[str],
    environ: Mapping[str, str] | None = None,
) -> Auth:
    """The credentials to send, or ``CliError`` saying which flags or variables to set."""
    environ = os.environ if environ is None else environ
    order = [args.auth] if getattr(args, "auth", None) else [*prefer]
    for mode in order:
        fields, factory = MODES[mode]
        values = [_value(args, dest, env, environ) for dest, env in fields]
        if all(values):
            return factory(*values)
    wanted = " or ".join(" + ".join(env[0] for _dest, env in MODES[mode][0]) for mode in order)
    raise CliError(f"no credentials: set {wanted} (or the matching --flags)")


def resolve_signer(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> ProtectedApiSigner | None:
    environ = os.environ if environ is None else environ
    signer_id, secret = (_value(args, dest, env, environ) for dest, env in _SIGNER)
    if signer_id and secret:
        return ProtectedApiSigner(signer_id, secret)
    if signer_id or secret:
        raise CliError(
            "a protected call needs both RUNSIGNUP_SIGNER_ID and RUNSIGNUP_SIGNER_SECRET"
        )
    return None
