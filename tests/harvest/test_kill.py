"""A real harvest process killed with SIGKILL mid-harvest, then resumed in-process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from runsignup_async.harvester import harvest
from runsignup_async.testing import FakeRunSignup, Fault

from .conftest import check_files, fast_client, image_files, temp_files

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


@pytest.mark.runsignup_fake(seed=21, races=3, photos_per_race_day=30, image_size=300_000)
async def test_sigkill_mid_harvest_then_rerun_completes(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    fake = runsignup_fake
    fake.faults.add(Fault.slow(0.05), endpoint="images")  # keep the child busy long enough
    creds = fake.credentials
    env = {
        **os.environ,
        "RUNSIGNUP_RSU_API_KEY": creds.rsu_api_key,
        "RUNSIGNUP_RSU_API_SECRET": creds.rsu_api_secret,
    }
    races = [f"--race={r}:{d}" for r, d in fake.race_days()]
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "runsignup_async.cli", "harvest", *races,
        "--dest", str(tmp_path), "--base-url", fake.base_url, "--rate", "500", "--quiet",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(1500):
            await asyncio.sleep(0.01)
            if len(image_files(tmp_path)) >= 10 or child.returncode is not None:
                break
        assert child.returncode is None, "the child finished before it could be killed"
        child.send_signal(signal.SIGKILL)
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
        assert child.stderr is not None
        await child.stderr.read()
    assert child.returncode == -signal.SIGKILL
    assert len(image_files(tmp_path)) < 90
    fake.faults.clear()
    async with fast_client(fake) as client:
        summary = await harvest(client, fake.race_days(), tmp_path)
    assert summary.ok
    assert check_files(fake, tmp_path, ("original",)) == 90
    assert temp_files(tmp_path) == []  # a killed run's leftovers are cleaned
    assert fake.credential_leaks == []
