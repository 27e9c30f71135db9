"""The README's two set-up commands stay true: CI runs the very test command it gives."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    found = dict(
        re.findall(
            r"<!-- (main-job|tests) -->\s*```(?:sh|bash|console)?\n(.*?)\n```", text, re.DOTALL
        )
    )
    assert set(found) == {"main-job", "tests"}, "README must mark its two set-up commands"
    return found


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()["tests"] in ci


def test_each_setup_command_is_one_line() -> None:
    for name, command in readme_commands().items():
        assert len(command.splitlines()) == 1, f"{name}: {command!r}"
        assert command.strip() == command and command, name
