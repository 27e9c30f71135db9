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

__all__ = ["build_parser", "console", "main"]

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


def console() -> None:
    """The ``runsignup-async`` command and ``python -m runsignup_async.cli``: ``main()``,
    then exit with its code.

    After an s3:// command the process ends without the interpreter's shutdown: obstore's
    Rust threads may still be releasing Python objects just after the last request, and
    one that asks for the GIL while Python 3.11 finalizes is made to exit through Rust
    frames, which aborts the process (SIGABRT, exit 134; seen in several runs out of ten).
    Everything the command printed is flushed first; nothing else is left to clean up.
    """
    code = main()
    if "obstore" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
