"""XML rendering of a response document, for requests that forget ``format=json``.

The real API answers XML by default. The exact element names it uses are not documented;
the fake only needs a body that is plainly XML (so an SDK that lost ``format=json`` fails
loudly), with the same data in it.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

__all__ = ["to_xml"]


def _item_name(parent: str) -> str:
    # "photos" -> "photo", "tally_split_nums" -> "tally_split_num"
    return parent[:-1] if parent.endswith("s") and len(parent) > 1 else "item"


def _element(name: str, value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append(f"<{name}>")
        for key, child in value.items():
            _element(str(key), child, out)
        out.append(f"</{name}>")
    elif isinstance(value, list):
        out.append(f"<{name}>")
        for child in value:
            _element(_item_name(name), child, out)
        out.append(f"</{name}>")
    elif value is None:
        out.append(f"<{name}/>")
    else:
        text = ("T" if value else "F") if isinstance(value, bool) else str(value)
        out.append(f"<{name}>{escape(text)}</{name}>")


def to_xml(document: dict[str, Any]) -> str:
    """``<?xml ...?>`` followed by the document; an error renders as ``<error>...</error>``."""
    out = ['<?xml version="1.0" encoding="utf-8"?>\n']
    if set(document) == {"error"}:
        _element("error", document["error"], out)
    else:
        _element("response", document, out)
    return "".join(out)
