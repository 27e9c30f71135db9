"""The ``runsignup-async`` command: ``main(argv) -> exit code``.

Subcommands: ``harvest``, ``photos-by-bib``, ``bib-index`` (see ``_harvest``), and one
per endpoint plus ``fake-server`` (see ``_endpoints``). Expected failures (an API error,
a network fault, a bad file, a missing credential) print one line on stderr and exit 1;
only a bug shows a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from ..errors import RunSignupError
from ._endpoints import add_endpoint_commands
from ._harvest import add_harvest_commands
from ._output import CliError, describe_error

__all__ = ["build_parser", "main"]

PROG = "runsignup-async"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="RunSignup from the shell: bulk photo harvests and every endpoint."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_harvest_commands(commands)
    add_endpoint_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = asyncio.run(args.run(args))
    except BrokenPipeError:
        # The reader (e.g. `| head`) left: nothing more to say, and nowhere to say it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (RunSignupError, CliError, OSError) as exc:
        print(f"{PROG} {args.command}: {describe_error(exc)}", file=sys.stderr)
        return 1
    return code
