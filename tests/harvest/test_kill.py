"""A real harvest process killed with SIGKILL mid-harvest, then resumed in-process."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from runsignup_async.harvester import MANIFEST_NAME, harvest
from runsignup_async.testing import FakeRunSignup, Fault

from .conftest import check_files, fast_client, harvest_then_sigkill, image_files, temp_files

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


@pytest.mark.runsignup_fake(seed=21, races=3, photos_per_race_day=30, image_size=300_000)
async def test_sigkill_mid_harvest_then_rerun_completes(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    fake = runsignup_fake
    fake.faults.add(Fault.slow(0.05), endpoint="images")  # keep the child busy long enough
    await harvest_then_sigkill(
        fake, str(tmp_path), far_enough=lambda: len(image_files(tmp_path)) >= 10
    )
    assert len(image_files(tmp_path)) < 90
    with sqlite3.connect(tmp_path / MANIFEST_NAME) as db:  # claims only whole files
        done = db.execute("SELECT photo_id, path, bytes FROM files WHERE status='done'")
        for photo_id, path, nbytes in done:
            data = (tmp_path / path).read_bytes()
            assert len(data) == nbytes and data == fake.image_bytes(photo_id, "original")
    fake.faults.clear()
    async with fast_client(fake) as client:
        summary = await harvest(client, fake.race_days(), tmp_path)
    assert summary.ok
    assert check_files(fake, tmp_path, ("original",)) == 90
    assert temp_files(tmp_path) == []  # a killed run's leftovers are cleaned
    assert fake.credential_leaks == []
