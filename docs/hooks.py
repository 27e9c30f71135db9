"""MkDocs hooks: pages that render what the code says at build time, so they cannot drift.

- ``<!-- cli-help -->`` in a page becomes the ``--help`` of the ``runsignup-async`` command
  and of every subcommand, taken from the CLI's own argparse parser.
- ``<!-- benchmarks -->`` becomes the figures of ``benchmarks/README.md``.
- ``<!-- endpoint-table -->`` becomes the SDK's one endpoint table: each endpoint's method,
  path, whether it is retried on an unclear failure, and the credentials it takes.

Nothing here touches the network.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HELP_WIDTH = "88"
CLI_MARKER = "<!-- cli-help -->"
BENCH_MARKER = "<!-- benchmarks -->"
ENDPOINT_MARKER = "<!-- endpoint-table -->"


def _subcommands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser itself, then every subcommand's parser, depth first, in definition order."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases map to one parser
                yield from _subcommands(child)


def cli_reference() -> str:
    """One section per command: its name as a heading and its ``--help`` verbatim."""
    from runsignup_async.cli import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH  # argparse wraps to the terminal: make it fixed
    try:
        sections = []
        for parser in _subcommands(build_parser()):
            depth = parser.prog.count(" ")
            heading = "#" * min(2 + depth, 4)
            help_text = parser.format_help().rstrip()
            sections.append(f"{heading} `{parser.prog}`\n\n```text\n{help_text}\n```\n")
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(sections)


def benchmark_figures() -> str:
    """``benchmarks/README.md`` without its top heading, headings pushed down one level."""
    path = ROOT / "benchmarks" / "README.md"
    if not path.is_file():
        return (
            '!!! note "Figures pending"\n'
            "    `benchmarks/README.md` is not written yet; run the scripts in `benchmarks/`"
            " to measure on your machine.\n"
        )
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\A#\s[^\n]*\n", "", text.lstrip())  # its own title
    text = re.sub(r"^(#{1,5})\s", r"#\1 ", text, flags=re.MULTILINE)
    # Links relative to benchmarks/ do not resolve inside the site: keep their text only.
    return re.sub(r"\[([^\]]+)\]\((?!https?://)[^)]+\)", r"\1", text)


def endpoint_table() -> str:
    from runsignup_async._endpoint_table import ENDPOINTS

    rows = [
        "| Endpoint | Method and path | Sent again after an unclear failure | Credentials |",
        "|---|---|---|---|",
    ]
    for e in ENDPOINTS.values():
        modes = ", ".join(f"`{cls.__name__}`" for cls in e.auth)
        if e.signed:
            modes += ", plus a `ProtectedApiSigner`'s signature"
        again = "yes" if e.idempotent else "no: only when provably not processed"
        rows.append(f"| [{e.name}]({e.page}) | `{e.method} {e.path}` | {again} | {modes} |")
    return "\n".join(rows) + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if ENDPOINT_MARKER in markdown:
        markdown = markdown.replace(ENDPOINT_MARKER, endpoint_table())
    if BENCH_MARKER in markdown:
        markdown = markdown.replace(BENCH_MARKER, benchmark_figures())
    return markdown
