"""``DirectorySink.save``: how an image reaches its file, and what is left when it fails.

Either way the harvest makes files durable (``durability``: one syncfs per batch, or an
fsync per file), nothing but a whole file is ever left under any name.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from runsignup_async import TransportError
from runsignup_async.harvester import MANIFEST_NAME
from runsignup_async.harvester._tempfile import TempFile
from runsignup_async.harvester.sinks import Body, DirectorySink, FileRef, image_identity
from runsignup_async.harvester.sinks import directory as directory_module
from runsignup_async.testing import FakeRunSignup, Fault

from .conftest import fast_client, temp_files


def _ref(fake: FakeRunSignup, size: str) -> FileRef:
    photo_id = next(iter(fake.data.photo_index))
    url = fake.image_url(photo_id, size)
    return FileRef(1, 2, photo_id, size, f"1/2/3/{photo_id}-{size}.jpg", url,
                   image_identity(url, 1, 1))  # fmt: skip


async def _save(fake: FakeRunSignup, dest: Path, ref: FileRef) -> None:
    async with (
        DirectorySink(dest) as sink,
        fast_client(fake) as client,
        client.download(ref.url) as response,
    ):
        await sink.save(ref, Body(response.chunks, response.content_length, ref.url))


def _done_rows(dest: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(dest / MANIFEST_NAME) as db:
        return db.execute("SELECT path, bytes FROM files WHERE status='done'").fetchall()


@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=1)
async def test_a_saved_image_is_whole_under_its_final_name_and_recorded(
    runsignup_fake: FakeRunSignup, tmp_path: Path, durability: str
) -> None:
    ref = _ref(runsignup_fake, "thumbnail")
    await _save(runsignup_fake, tmp_path, ref)
    want = runsignup_fake.image_bytes(ref.photo_id, "thumbnail")
    assert (tmp_path / ref.key).read_bytes() == want
    assert _done_rows(tmp_path) == [(ref.key, len(want))]
    assert temp_files(tmp_path) == []


@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=1)
async def test_a_small_image_is_held_for_the_committer_to_write_with_its_batch(
    runsignup_fake: FakeRunSignup, tmp_path: Path, durability: str
) -> None:
    fake = runsignup_fake
    ref = _ref(fake, "thumbnail")
    want = fake.image_bytes(ref.photo_id, "thumbnail")
    assert len(want) <= directory_module.FLUSH_BYTES
    async with DirectorySink(tmp_path) as sink, fast_client(fake) as client:
        async with client.download(ref.url) as response:
            await sink.save(ref, Body(response.chunks, response.content_length, ref.url))
        # Whole in memory, nothing on disk yet under any name: no thread call made.
        assert not (tmp_path / ref.key).exists() and temp_files(tmp_path) == []
        assert sink.committer.pending == 1
    assert (tmp_path / ref.key).read_bytes() == want  # written with the closing batch
    assert _done_rows(tmp_path) == [(ref.key, len(want))]


@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=1, image_size=3_000_000)
async def test_a_large_image_is_written_a_bounded_buffer_at_a_time(
    runsignup_fake: FakeRunSignup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    real_write = TempFile.write

    def write(self: TempFile, chunks: list[bytes]) -> None:
        writes.append(sum(map(len, chunks)))
        real_write(self, chunks)

    monkeypatch.setattr(TempFile, "write", write)
    ref = _ref(runsignup_fake, "original")
    await _save(runsignup_fake, tmp_path, ref)
    assert (tmp_path / ref.key).read_bytes() == runsignup_fake.image_bytes(ref.photo_id, "original")
    assert len(writes) >= 3 and max(writes) < 2 * directory_module.FLUSH_BYTES


@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=1)
async def test_a_short_body_leaves_no_file_under_any_name(
    runsignup_fake: FakeRunSignup, tmp_path: Path, durability: str
) -> None:
    runsignup_fake.faults.add(Fault.truncated(), endpoint="images", times=1)
    ref = _ref(runsignup_fake, "thumbnail")
    with pytest.raises(TransportError):  # DownloadError is one too
        await _save(runsignup_fake, tmp_path, ref)
    assert not (tmp_path / "1" / "2" / "3").exists() or os.listdir(tmp_path / "1/2/3") == []
    assert _done_rows(tmp_path) == []


@pytest.mark.runsignup_fake(seed=1, races=1, photos_per_race_day=1)
async def test_a_file_that_cannot_be_created_is_an_os_error_and_leaves_nothing(
    runsignup_fake: FakeRunSignup, tmp_path: Path, durability: str
) -> None:
    (tmp_path / "1").write_bytes(b"not a directory")
    with pytest.raises(OSError, match=r"(Not a directory|File exists)"):
        await _save(runsignup_fake, tmp_path, _ref(runsignup_fake, "thumbnail"))
    assert temp_files(tmp_path) == [] and _done_rows(tmp_path) == []
