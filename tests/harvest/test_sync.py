"""``_sync``: when syncfs is trusted, and the descriptors it is given."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from runsignup_async.harvester._sync import FileSystems, file_systems, load_syncfs

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")


@pytest.mark.parametrize(
    ("system", "release"),
    [
        ("darwin", "23.1.0"),
        ("win32", "10"),
        ("linux", "5.7.19"),  # syncfs dropped write-back errors before 5.8
        ("linux", "4.19.0-26-amd64"),
        ("linux", "unknown"),
    ],
)
def test_syncfs_is_not_used_where_it_cannot_report_errors(system: str, release: str) -> None:
    assert load_syncfs(system, release) is None


@linux_only
@pytest.mark.parametrize("release", ["5.8.0", "6.1.0-13-amd64", "6.18.44-fc"])
def test_syncfs_flushes_a_file_system_and_reports_failure(release: str, tmp_path: Path) -> None:
    syncfs = load_syncfs("linux", release)
    assert syncfs is not None
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        syncfs(fd)  # no error on a healthy file system
    finally:
        os.close(fd)
    with pytest.raises(OSError, match="syncfs failed") as caught:
        syncfs(fd)  # closed: the kernel's error comes back as OSError
    assert caught.value.errno == errno.EBADF


def test_one_descriptor_per_file_system_closed_at_the_end(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    watched = FileSystems(lambda fd: None)
    watched.watch(str(tmp_path / "a"))
    watched.watch(str(tmp_path / "b"))
    watched.watch(str(tmp_path / "a"))
    (fd,) = watched.descriptors()  # one file system, one descriptor
    os.fstat(fd)
    watched.close()
    assert watched.descriptors() == ()
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(fd)


def test_sync_calls_syncfs_for_each_descriptor_and_stops_at_an_error() -> None:
    seen: list[int] = []

    def syncfs(fd: int) -> None:
        seen.append(fd)
        if fd == 2:
            raise OSError(errno.EIO, "syncfs failed")

    watched = FileSystems(syncfs)
    with pytest.raises(OSError, match="syncfs failed"):
        watched.sync([1, 2, 3])
    assert seen == [1, 2]


def test_file_systems_is_none_where_syncfs_is_not_trusted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runsignup_async.harvester import _sync

    monkeypatch.setattr(_sync, "load_syncfs", lambda: None)
    with file_systems() as watched:
        assert watched is None


def test_no_ctypes_means_fsync_per_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ctypes", None)  # a Python built without it
    assert load_syncfs("linux", "6.1.0") is None
