"""The CLI's ``--redis`` / ``RUNSIGNUP_REDIS_URL``, against a real redis-server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import redis

from runsignup_async import LimitsSnapshot
from runsignup_async.cli import main
from runsignup_async.cli._progress import PlainProgress
from runsignup_async.harvester import HarvestEvent, HarvestStats

from .conftest import RedisServer


def groups_in(server: RedisServer) -> list[bytes]:
    with redis.Redis.from_url(server.url) as client:
        return sorted(client.scan_iter("runsignup-async:limits:*:clients"))


def test_harvest_with_redis_shares_its_limits(
    own_redis: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("RUNSIGNUP_REDIS_URL", raising=False)
    code = main(["harvest", "--fake", "--quiet", "--redis", own_redis.url,
                 "--dest", str(tmp_path / "a")])  # fmt: skip
    assert code == 0 and "Harvest complete" in capsys.readouterr().out
    assert len(groups_in(own_redis)) == 1  # the fake key's group took its slots there


def test_the_environment_names_redis_when_the_flag_does_not(
    own_redis: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("RUNSIGNUP_REDIS_URL", own_redis.url)
    assert groups_in(own_redis) == []
    assert main(["harvest", "--fake", "--quiet", "--dest", str(tmp_path / "a")]) == 0
    assert len(groups_in(own_redis)) == 1


def test_a_password_on_the_command_line_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "redis://:hunter2-secret@127.0.0.1:6379/0"
    code = main(["harvest", "--fake", "--quiet", "--redis", url, "--dest", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "RUNSIGNUP_REDIS_URL" in err and "redis://:***@127.0.0.1:6379/0" in err
    assert "hunter2-secret" not in err
    assert not (tmp_path / "manifest.sqlite").exists()


def test_the_plain_progress_tally_shows_the_shared_limits() -> None:
    out = io.StringIO()
    progress = PlainProgress(out)
    progress.limits = LimitsSnapshot(
        shared=True, degraded=False, rate=12.5, tokens=3.0, in_flight=2, max_concurrency=4,
        clients=3, paused_for=0.0,
    )  # fmt: skip
    progress.last = 0.0  # a tally is due
    stats = HarvestStats(race_days=1)
    progress(HarvestEvent("photo_downloaded", stats, 1, 2, 3))
    assert "shared limits: 12.5 req/s, 3.0 tokens, 2/4 in flight, 3 clients" in out.getvalue()
