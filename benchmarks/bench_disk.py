"""What the file system charges for the harvest's ways of writing a file, on this machine.

Run: ``python benchmarks/bench_disk.py [--files 10000]``. Issue 6, for reference (no target).

Each way writes ``--files`` files of 12 kB (a thumbnail) into a fresh temporary directory
after the disk has settled, on this process alone (no network), and prints wall time and
CPU (user + kernel) per file, and each way's wall time over the plain flat loop's:

- flat: create, write, close, all in one directory (the flat benchmark loop);
- tree: the same in ``race/day/album`` directories of 20 files (issue 6's layout);
- tree + fsync + rename: a temporary file fsynced and renamed into place, per file;
- tree + syncfs + rename: temporary files flushed with one syncfs per batch (the
  harvest's ``COMMIT_BATCH``), then renamed (what the harvest does on Linux >= 5.8;
  skipped where it cannot).

Each of the last two also fsyncs the directories of a batch, as the harvest does. No
way's files are deleted before the last way ends: on ext4 without a journal, a file
created within minutes of many deletions is much dearer (``bench_harvest_throughput``
says why), and the ways after the first would pay for the first's.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable

from runsignup_async.harvester._settings import COMMIT_BATCH
from runsignup_async.harvester._sync import fsync_dirs, load_syncfs

SIZE = 12_000
BATCH = COMMIT_BATCH  # as the harvest batches
PER_DIRECTORY = 20

Write = Callable[[str, int, bytes], None]


def _path(root: str, n: int, tree: bool) -> str:
    if not tree:
        return os.path.join(root, f"{n}.jpg")
    directory = os.path.join(root, str(n // 2000), str(n // 1000), str(n // PER_DIRECTORY))
    if n % PER_DIRECTORY == 0:
        os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, f"{n}-thumbnail.jpg")


def _create(path: str, data: bytes) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    return fd


def run(root: str, files: int, way: str) -> None:
    data = os.urandom(SIZE)
    syncfs = load_syncfs() if way == "syncfs" else None
    root_fd = os.open(root, os.O_RDONLY)
    staged: list[tuple[str, str]] = []
    try:
        for n in range(files):
            path = _path(root, n, tree=way != "flat")
            if way in ("flat", "tree"):
                os.close(_create(path, data))
                continue
            temp = os.path.join(os.path.dirname(path), f".{n}.part")
            fd = _create(temp, data)
            if way == "fsync":
                os.fsync(fd)
                os.close(fd)
                os.replace(temp, path)
                staged.append(("", path))
            else:
                os.close(fd)
                staged.append((temp, path))
            if len(staged) >= BATCH or n == files - 1:
                if syncfs is not None:
                    syncfs(root_fd)
                    for temp, final in staged:
                        os.replace(temp, final)
                fsync_dirs(sorted({os.path.dirname(final) for _, final in staged}))
                staged = []
    finally:
        os.close(root_fd)


def measure(root: str, files: int, way: str) -> tuple[float, float]:
    os.mkdir(root)
    os.sync()
    time.sleep(1.0)
    before, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    run(root, files, way)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall / files, cpu / files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    ways = ["flat", "tree", "fsync"] + (["syncfs"] if load_syncfs() is not None else [])
    labels = {"flat": "flat", "tree": "tree", "fsync": "tree + fsync + rename",
              "syncfs": "tree + syncfs + rename"}  # fmt: skip
    print(f"{args.files} files of {SIZE // 1000} kB each way, in {tempfile.gettempdir()}")
    with tempfile.TemporaryDirectory() as scratch:
        results = {way: measure(os.path.join(scratch, way), args.files, way) for way in ways}
    flat_wall = results["flat"][0]
    for way, (wall, cpu) in results.items():
        print(f"  {labels[way]:24s} wall {wall * 1e6:5.0f} us/file  cpu {cpu * 1e6:5.0f} us/file"
              f"  wall / flat {wall / flat_wall:5.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
