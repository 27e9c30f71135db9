"""``save_atomically``: where each image is written, and what is left when it fails.

A small image that needs no fsync is written on the event loop when the caller allows
it; anything larger, or anything to be fsynced, goes through the file threads. Both
ways, nothing but a whole file is left under any name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runsignup_async import TransportError
from runsignup_async.harvester._files import FileThreads
from runsignup_async.harvester.download import (
    INLINE_BYTES,
    DownloadError,
    save_atomically,
)
from runsignup_async.testing import FakeRunSignup, Fault

from .conftest import fast_client, temp_files


class CountingThreads(FileThreads):
    """FileThreads that remember the name of every call handed to them."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        self.calls.append(fn.__name__)
        return super().run(fn, *args)


def _bytes(path: str | None) -> bytes:
    assert path is not None
    return Path(path).read_bytes()


def _photo(fake: FakeRunSignup) -> int:
    return next(iter(fake.data.photo_index))


async def _save(
    fake: FakeRunSignup, dest: Path, size: str, *, durable: bool, inline: bool = True
) -> tuple[Any, list[str], Path, int]:
    photo_id = _photo(fake)
    final = dest / f"{photo_id}-{size}.jpg"
    async with fast_client(fake) as client, CountingThreads() as threads:
        got = await save_atomically(
            client,
            fake.image_url(photo_id, size),
            str(final),
            files=threads,
            durable=durable,
            inline=lambda: inline,
        )
    return got, threads.calls, final, photo_id


@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=1)
async def test_a_small_staged_image_is_written_without_a_thread_call(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    got, calls, final, photo_id = await _save(runsignup_fake, tmp_path, "thumbnail", durable=False)
    want = runsignup_fake.image_bytes(photo_id, "thumbnail")
    assert len(want) <= INLINE_BYTES
    assert calls == []
    # Staged: whole under its temporary name, for the committer to flush and rename.
    assert _bytes(got.temp) == want
    assert got.nbytes == len(want) and not final.exists()


@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=1)
async def test_a_small_staged_image_goes_to_a_thread_when_inline_says_no(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    # What the harvest says while a batch is being flushed (Committer.idle).
    got, calls, _, photo_id = await _save(
        runsignup_fake, tmp_path, "thumbnail", durable=False, inline=False
    )
    assert calls == ["finish"]
    assert _bytes(got.temp) == runsignup_fake.image_bytes(photo_id, "thumbnail")


@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=1)
async def test_a_durable_image_is_fsynced_and_renamed_in_a_thread(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    got, calls, final, photo_id = await _save(runsignup_fake, tmp_path, "thumbnail", durable=True)
    assert calls == ["finish"]
    assert got.temp is None and final.read_bytes() == runsignup_fake.image_bytes(
        photo_id, "thumbnail"
    )
    assert temp_files(tmp_path) == []


@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=1, image_size=3_000_000)
async def test_a_large_staged_image_is_written_in_threads_a_buffer_at_a_time(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    got, calls, _, photo_id = await _save(runsignup_fake, tmp_path, "original", durable=False)
    assert calls[-1] == "finish" and calls.count("write") >= 2
    assert _bytes(got.temp) == runsignup_fake.image_bytes(photo_id, "original")


@pytest.mark.parametrize("durable", [False, True])
@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=1)
async def test_a_short_body_leaves_no_file_under_any_name(
    runsignup_fake: FakeRunSignup, tmp_path: Path, durable: bool
) -> None:
    runsignup_fake.faults.add(Fault.truncated(), endpoint="images", times=1)
    with pytest.raises((TransportError, DownloadError)):
        await _save(runsignup_fake, tmp_path, "thumbnail", durable=durable)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("durable", [False, True])
@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=1)
async def test_a_file_that_cannot_be_created_is_an_os_error_and_leaves_nothing(
    runsignup_fake: FakeRunSignup, tmp_path: Path, durable: bool
) -> None:
    missing = tmp_path / "not-made"
    with pytest.raises(FileNotFoundError):
        await _save(runsignup_fake, missing, "thumbnail", durable=durable)
    assert os.listdir(tmp_path) == []
