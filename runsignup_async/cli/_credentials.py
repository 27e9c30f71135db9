"""Credentials for the CLI: key flags, a secrets file (or standard input), the environment.

A secret never comes from a flag: a flag's value shows in ``ps`` and in shell history.
Secrets come from the environment, or from ``--secrets-file PATH`` (``KEY=VALUE`` lines, as
in a dotenv file; ``-`` reads them from standard input), whose values win over the
environment. A secrets file that group or others may read is refused. Key ids (not
secret) may also be given as flags, which win over both.

Which modes a command may use comes from the endpoint table, in its order of preference;
``--auth`` picks one of them. ``--sp-api-key`` shares its secret with the v2 key (both
travel in ``X-RSU-API-SECRET``), hence ``RUNSIGNUP_RSU_API_SECRET`` as a fallback.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Callable, Mapping
from typing import Final

import attrs

from .._endpoint_table import Endpoint
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


@attrs.frozen
class _Value:
    """One credential value: its flag (None for a secret) and where else it may be found."""

    env: tuple[str, ...]
    flag: str | None = None


@attrs.frozen
class _Mode:
    values: tuple[_Value, ...]
    build: Callable[..., Auth]


MODES: Final[dict[str, _Mode]] = {
    "v2": _Mode(
        (_Value(("RUNSIGNUP_RSU_API_KEY",), "rsu_api_key"), _Value(("RUNSIGNUP_RSU_API_SECRET",))),
        V2KeyAuth,
    ),
    "api": _Mode(
        (_Value(("RUNSIGNUP_API_KEY",), "api_key"), _Value(("RUNSIGNUP_API_SECRET",))),
        ApiKeyAuth,
    ),
    "sp": _Mode(
        (
            _Value(("RUNSIGNUP_SP_API_KEY",), "sp_api_key"),
            _Value(("RUNSIGNUP_SP_API_SECRET", "RUNSIGNUP_RSU_API_SECRET")),
        ),
        SuperPartnerAuth,
    ),
    "tmp": _Mode(
        (_Value(("RUNSIGNUP_TMP_KEY",), "tmp_key"), _Value(("RUNSIGNUP_TMP_SECRET",))),
        TempKeyAuth,
    ),
    "bearer": _Mode((_Value(("RUNSIGNUP_BEARER_TOKEN",)),), BearerAuth),
}
_SIGNER: Final = (
    _Value(("RUNSIGNUP_SIGNER_ID",), "signer_id"),
    _Value(("RUNSIGNUP_SIGNER_SECRET",)),
)
# Flags that would carry a secret: refused, with where to put the value instead.
_SECRET_FLAGS: Final = {
    "--api-secret": "RUNSIGNUP_API_SECRET",
    "--rsu-api-secret": "RUNSIGNUP_RSU_API_SECRET",
    "--sp-api-secret": "RUNSIGNUP_SP_API_SECRET",
    "--tmp-secret": "RUNSIGNUP_TMP_SECRET",
    "--bearer-token": "RUNSIGNUP_BEARER_TOKEN",
    "--signer-secret": "RUNSIGNUP_SIGNER_SECRET",
}


def _mode_of(cls: type[Auth]) -> str:
    return next(name for name, mode in MODES.items() if mode.build is cls)


class _RefuseSecret(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        flag = option_string or self.option_strings[0]
        parser.error(
            f"{flag} is refused: a secret on the command line shows in `ps` and in shell"
            f" history. Set {_SECRET_FLAGS[flag]} in the environment or in a --secrets-file"
            " (KEY=VALUE lines, mode 600; '-' reads them from standard input)"
        )


def add_credential_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "credentials",
        "secrets come from the environment or --secrets-file, never from flags:"
        " RUNSIGNUP_RSU_API_KEY/_SECRET, RUNSIGNUP_API_KEY/_SECRET, RUNSIGNUP_SP_API_KEY"
        " (+ RUNSIGNUP_SP_API_SECRET or RUNSIGNUP_RSU_API_SECRET), RUNSIGNUP_TMP_KEY/_SECRET,"
        " RUNSIGNUP_BEARER_TOKEN, RUNSIGNUP_SIGNER_ID/_SECRET",
    )
    group.add_argument("--auth", choices=list(MODES), help="which credentials to use")
    group.add_argument(
        "--secrets-file",
        metavar="PATH",
        help="KEY=VALUE lines (dotenv style) of the variables above, readable by you alone;"
        " '-' reads them from standard input",
    )
    for value in (*(v for mode in MODES.values() for v in mode.values), *_SIGNER):
        if value.flag is not None:
            group.add_argument("--" + value.flag.replace("_", "-"), dest=value.flag, metavar="ID")
    for flag in _SECRET_FLAGS:
        group.add_argument(flag, action=_RefuseSecret, help=argparse.SUPPRESS)


def parse_secrets(text: str, source: str) -> dict[str, str]:
    """``KEY=VALUE`` lines; blank lines, ``#`` comments, ``export`` and quotes allowed."""
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier():
            # The line may hold a secret: say where, never what.
            raise CliError(f"{source}, line {number}: expected KEY=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[name] = value
    return found


def read_secrets_file(path: str) -> dict[str, str]:
    if path == "-":
        return parse_secrets(sys.stdin.read(), "standard input")
    try:
        with open(path, encoding="utf-8") as file:
            mode = os.fstat(file.fileno()).st_mode
            if mode & (stat.S_IRGRP | stat.S_IROTH):
                raise CliError(
                    f"{path} is readable by group or others (mode {stat.filemode(mode)});"
                    f" run `chmod 600 {path}` first"
                )
            text = file.read()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_secrets(text, path)


def _sources(args: argparse.Namespace, environ: Mapping[str, str] | None) -> Mapping[str, str]:
    """The environment with the secrets file's values on top (read once per command)."""
    cached: Mapping[str, str] | None = getattr(args, "_secrets", None)
    if cached is None:
        cached = dict(os.environ if environ is None else environ)
        path = getattr(args, "secrets_file", None)
        if path:
            cached = {**cached, **read_secrets_file(path)}
        args._secrets = cached
    return cached


def _lookup(args: argparse.Namespace, value: _Value, sources: Mapping[str, str]) -> str:
    flag = getattr(args, value.flag, None) if value.flag else None
    if flag:
        return str(flag)
    return next((sources[name] for name in value.env if sources.get(name)), "")


def resolve_auth(
    args: argparse.Namespace, endpoint: Endpoint, environ: Mapping[str, str] | None = None
) -> Auth:
    """The credentials to send to ``endpoint``, or ``CliError`` saying what to set."""
    sources = _sources(args, environ)
    takes = [_mode_of(cls) for cls in endpoint.auth]
    chosen = getattr(args, "auth", None)
    if chosen and chosen not in takes:
        raise CliError(f"--auth {chosen}: {endpoint.name} takes {', '.join(takes)}")
    order = [chosen] if chosen else takes
    for name in order:
        mode = MODES[name]
        found = [_lookup(args, value, sources) for value in mode.values]
        if all(found):
            return mode.build(*found)
    wanted = " or ".join(" + ".join(v.env[0] for v in MODES[name].values) for name in order)
    raise CliError(f"no credentials for {endpoint.name}: set {wanted}")


def resolve_signer(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> ProtectedApiSigner | None:
    sources = _sources(args, environ)
    signer_id, secret = (_lookup(args, value, sources) for value in _SIGNER)
    if signer_id and secret:
        return ProtectedApiSigner(signer_id, secret)
    if signer_id or secret:
        raise CliError(
            "a protected call needs both RUNSIGNUP_SIGNER_ID and RUNSIGNUP_SIGNER_SECRET"
        )
    return None
