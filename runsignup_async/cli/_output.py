"""What the CLI prints: JSON documents, JSON lines, and one-line errors."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from .. import _convert
from ..errors import APIError, RunSignupError

__all__ = ["CliError", "describe_error", "print_json", "print_json_line"]


class CliError(Exception):
    """An expected failure of the CLI's own making: a bad file, a missing credential."""


def _jsonable(value: Any) -> Any:
    return _convert.unstructure(value)


def print_json(value: Any, out: TextIO | None = None) -> None:
    json.dump(_jsonable(value), out or sys.stdout, indent=2, default=str)
    (out or sys.stdout).write("\n")


def print_json_line(value: Any, out: TextIO | None = None) -> None:
    (out or sys.stdout).write(json.dumps(_jsonable(value), default=str) + "\n")


def describe_error(exc: BaseException) -> str:
    """One line: the error's class and message, with the API's code when there is one."""
    if isinstance(exc, APIError):
        text = str(exc)  # "RunSignup error 15: <msg> (GET <redacted url>, HTTP 200)"
    elif isinstance(exc, RunSignupError):
        text = f"{type(exc).__name__}: {exc}"
    elif isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())
