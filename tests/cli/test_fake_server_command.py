"""`runsignup-async fake-server` starts from a shell, and curl against it gets JSON."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest


def _until_curl_line(proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if found := re.search(r"curl '([^']+)'", line):
            return found.group(1)
    pytest.fail("fake-server printed no curl line:\n" + "".join(seen))


def test_fake_server_command_answers_json_then_xml_without_format() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "runsignup_async.cli", "fake-server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = _until_curl_line(proc)
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
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
