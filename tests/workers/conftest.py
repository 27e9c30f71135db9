"""The distributed harvest's parts, all real and on loopback: a redis-server, moto's S3
server, the embedded fake RunSignup, and ``runsignup-async worker`` subprocesses."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runsignup_async.testing import FakeRunSignup

# The harvest tests' moto server and the shared-limits tests' redis-server, reused: the
# tests directory is not a package (pytest's importlib mode), so it goes on the path.
sys.path.insert(0, str(Path(__file__).parents[1]))
from harvest.conftest import bucket, moto_s3  # noqa: F401  (fixtures)
from shared.conftest import own_redis  # noqa: F401  (a redis-server of each test's own)

CLI = (sys.executable, "-m", "runsignup_async.cli")


def env_for(fake: FakeRunSignup) -> dict[str, str]:
    creds = fake.credentials
    return {**os.environ, "RUNSIGNUP_RSU_API_KEY": creds.rsu_api_key,
            "RUNSIGNUP_RSU_API_SECRET": creds.rsu_api_secret}  # fmt: skip


class Workers:
    """Worker subprocesses started by a test, all stopped at its end."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self, fake: FakeRunSignup, *args: str) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            *CLI, "worker", "--base-url", fake.base_url, *args,
            env=env_for(fake), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    async def stop_all(self) -> list[str]:
        """SIGTERM every worker still running; each one's stderr."""
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        outs = []
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
            assert proc.stderr is not None
            outs.append((await proc.stderr.read()).decode())
        return outs


@pytest.fixture
async def workers() -> AsyncIterator[Workers]:
    started = Workers()
    try:
        yield started
    finally:
        await started.stop_all()
