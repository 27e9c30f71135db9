"""`runsignup-async fake-server` starts from a shell, and curl against it gets JSON."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from runsignup_async.cli._harvest import read_races_file
from runsignup_async.testing import FakeRunSignup


def _until(proc: subprocess.Popen[str], pattern: str, timeout: float = 30.0) -> re.Match[str]:
    """The first line of the server's output matching ``pattern``; fails after ``timeout``."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if found := re.search(pattern, line):
            return found
    pytest.fail(f"fake-server printed no line matching {pattern!r}:\n" + "".join(seen))


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_fake_server_command_answers_json_then_xml_without_format() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "runsignup_async.cli", "fake-server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = _until(proc, r"curl '([^']+)'").group(1)
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as answer:  # what curl would get
            assert answer.headers["Content-Type"].startswith("application/json")
            document = json.loads(answer.read())
        assert document["albums"], "the printed race day has albums"
        assert {"album_id", "album_name", "num_photos"} <= set(document["albums"][0])
        # Without format=json the API (and the fake) answer XML.
        with urllib.request.urlopen(url.replace("&format=json", ""), timeout=10) as answer:
            assert answer.read().startswith(b"<?xml")
    finally:
        _stop(proc)


def _fake_server(*extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-u", "-m", "runsignup_async.cli", "fake-server", "--port", "0"]
    return subprocess.Popen(
        [*command, "--seed", "5", "--races", "2", "--days-per-race", "2", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_races_file_out_is_what_harvest_reads(tmp_path: Path) -> None:
    expected = FakeRunSignup(seed=5, races=2, days_per_race=2).race_days()
    target = tmp_path / "races.csv"
    proc = _fake_server("--races-file-out", str(target))
    try:
        assert _until(proc, "written to (.*)").group(1) == str(target)
        assert [(r.race_id, r.race_event_days_id) for r in read_races_file(str(target))] == (
            expected
        )
        assert len(expected) == 4
    finally:
        _stop(proc)


def test_races_file_is_printed_without_the_option(tmp_path: Path) -> None:
    expected = FakeRunSignup(seed=5, races=2, days_per_race=2).race_days()
    proc = _fake_server()
    try:
        _until(proc, re.escape("Races file (for harvest --races-file):"))
        assert proc.stdout is not None
        rows = [proc.stdout.readline() for _ in range(len(expected) + 1)]
    finally:
        _stop(proc)
    copied = tmp_path / "copied.csv"
    copied.write_text("".join(rows), encoding="utf-8")  # what a user copies from the terminal
    assert [(r.race_id, r.race_event_days_id) for r in read_races_file(str(copied))] == expected
