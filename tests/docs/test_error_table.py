"""The Errors page's tables say what the code does, for every code RunSignup documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runsignup_async import errors
from runsignup_async._protocol import error_class

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "src" / "errors.md"
FACTS = ROOT / "tests" / "api_pages" / "FACTS.md"


def table_after(marker: str) -> list[list[str]]:
    """The rows (cells stripped) of the Markdown table right after ``marker``."""
    text = PAGE.read_text(encoding="utf-8")
    assert marker in text, f"errors.md lost its {marker} marker"
    rows = []
    for line in text.split(marker, 1)[1].lstrip().splitlines():
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert len(rows) > 2, f"no table after {marker}"
    return rows[2:]  # past the header and its rule


def numbers(cell: str) -> list[int]:
    """``"101-102, 104-123"`` (en dashes too) -> every number it covers."""
    found: list[int] = []
    for part in cell.split(","):
        low, _, high = re.sub("[\u2013-]", "-", part.strip()).partition("-")
        found += range(int(low), int(high or low) + 1)
    return found


def exception_named(cell: str) -> type[errors.APIError]:
    name = re.match(r"`(\w+)`", cell)
    assert name, f"no exception class in {cell!r}"
    cls = getattr(errors, name[1])
    assert issubclass(cls, errors.APIError)
    return cls


def documented_codes() -> set[int]:
    """Every code FACTS.md lists: single codes, ranges such as 101-123, and '900s'."""
    text = FACTS.read_text(encoding="utf-8")
    codes_line = re.search(r"^- Codes:(.+?)(?=^- |^#)", text, re.MULTILINE | re.DOTALL)
    assert codes_line, "FACTS.md has no '- Codes:' item"
    body = codes_line[1]
    found: set[int] = set()
    for low, high in re.findall(r"\b(\d+)-(\d+)\b", body):
        found.update(range(int(low), int(high) + 1))
    for hundreds in re.findall(r"\b(\d)00s\b", body):
        found.update(range(int(hundreds) * 100, int(hundreds) * 100 + 100))
    found.update(int(n) for n in re.findall(r"(?<![\d-])(\d+)(?![\d-]|00s)", body))
    return found


CODE_ROWS = table_after("<!-- error-codes -->")
STATUS_ROWS = table_after("<!-- http-statuses -->")


@pytest.mark.parametrize("row", CODE_ROWS, ids=lambda row: row[0])
def test_each_code_row_matches_the_code(row: list[str]) -> None:
    cls = exception_named(row[-1])
    for code in numbers(row[0]):
        assert error_class(code, 200) is cls, f"code {code}: docs say {cls.__name__}"


@pytest.mark.parametrize("row", STATUS_ROWS, ids=lambda row: row[0])
def test_each_status_row_matches_the_code(row: list[str]) -> None:
    cls = exception_named(row[-1])
    for status in numbers(row[0]):
        assert error_class(None, status) is cls, f"HTTP {status}: docs say {cls.__name__}"


def test_every_documented_code_has_a_row() -> None:
    in_table = {code for row in CODE_ROWS for code in numbers(row[0])}
    expected = documented_codes()
    assert {1, 6, 14, 103, 216, 900, 999} <= expected  # the parse found the list
    assert not expected - in_table, f"codes missing from errors.md: {sorted(expected - in_table)}"
    assert len(in_table) == sum(len(numbers(row[0])) for row in CODE_ROWS), "a code is listed twice"
