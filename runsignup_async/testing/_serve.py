"""Running the fake from a shell: ``serve`` (async) and ``run_server`` (blocking)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from ._app import FakeRunSignup

__all__ = ["races_file_text", "run_server", "serve", "write_races_file"]


def races_file_text(fake: FakeRunSignup) -> str:
    """Every race day as the CSV that ``runsignup-async harvest --races-file`` reads."""
    rows = [f"{race_id},{days_id}" for race_id, days_id in fake.race_days()]
    return "\n".join(["race_id,race_event_days_id", *rows]) + "\n"


def write_races_file(fake: FakeRunSignup, path: str | os.PathLike[str]) -> Path:
    """Write ``races_file_text`` to ``path`` whole (a temporary file, then a rename)."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(races_file_text(fake), encoding="utf-8")
    partial.replace(target)
    return target


def describe(fake: FakeRunSignup) -> str:
    """The base URLs and accepted credentials, for a human at a terminal."""
    c = fake.credentials
    day = fake.race_days()[0] if fake.race_days() else None
    lines = [
        f"Fake RunSignup API:  {fake.base_url}",
        f"Fake image origin:   {fake.image_base_url}",
        f"api_key={c.api_key} api_secret={c.api_secret}",
        f"rsu_api_key={c.rsu_api_key} X-RSU-API-SECRET: {c.rsu_api_secret}",
        f"sp_api_key={c.sp_api_key} X-RSU-API-SECRET: {c.sp_api_secret}",
        f"tmp_key={c.tmp_key} tmp_secret={c.tmp_secret}",
        f"Authorization: Bearer {c.bearer_token}",
        f"protected API signer id={c.signer_id} secret={c.signer_secret}",
    ]
    if day is not None:
        lines.append(
            f"Try: curl '{fake.base_url}/v2/photos/get-race-photo-albums.json?race_id={day[0]}"
            f"&race_event_days_id={day[1]}&api_key={c.api_key}&api_secret={c.api_secret}"
            "&format=json'"
        )
    return "\n".join(lines)


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    out: TextIO | None = None,
    ready: asyncio.Event | None = None,
    races_file_out: str | os.PathLike[str] | None = None,
    **options: Any,
) -> None:
    """Serve a ``FakeRunSignup(**options)`` until cancelled, after printing how to reach it.

    The race days are printed as a races file for ``harvest --races-file``, or written to
    ``races_file_out``.
    """
    async with FakeRunSignup(host=host, port=port, **options) as fake:
        stream = out or sys.stdout
        print(describe(fake), file=stream)
        if races_file_out is not None:
            written = write_races_file(fake, races_file_out)
            print(f"Races file (for harvest --races-file) written to {written}", file=stream)
        else:
            print("Races file (for harvest --races-file):", file=stream)
            print(races_file_text(fake), end="", file=stream)
        stream.flush()
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()


def run_server(host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
    """Blocking ``serve``; returns on Ctrl-C."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(host, port, **options))
