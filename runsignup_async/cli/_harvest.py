"""The harvest subcommands: ``harvest``, ``photos-by-bib`` and ``bib-index``."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from .. import Client, RateLimit
from .._endpoint_table import ENDPOINTS
from .._pagination import RaceDay
from ..errors import ValidationError
from ..harvester import MANIFEST_NAME, SIZES, BibHit, Manifest, bucket_bib_hits, harvest
from ..harvester.layout import check_sizes
from ..harvester.sinks import is_s3
from ._credentials import resolve_auth
from ._endpoints import add_common
from ._output import CliError
from ._progress import make_progress, render_summary, watch_limits
from ._rate import RATE_HELP, rate_limit_of
from ._redis import redis_options
from ._workers import add_queue_flags, add_worker_commands

__all__ = ["add_harvest_commands"]

# --fake: the README's demo data set, small enough to finish in seconds.
FAKE_RACES: Final = 5
FAKE_PHOTOS_PER_DAY: Final = 40
FAKE_SEED: Final = 2024


def parse_race(text: str) -> RaceDay | int:
    """``RACE_ID:RACE_EVENT_DAYS_ID``, or ``RACE_ID`` alone for all the race's days."""
    race, sep, day = text.partition(":")
    try:
        if not sep and race.strip().isdigit():
            return RaceDay.or_race(int(race))
        if sep and race.strip().isdigit() and day.strip().isdigit():
            return RaceDay(int(race), int(day))
    except ValidationError:
        pass
    raise argparse.ArgumentTypeError(
        f"expected RACE_ID or RACE_ID:RACE_EVENT_DAYS_ID (positive ids), got {text!r}"
    )


def read_races_file(path: str) -> list[RaceDay | int]:
    """CSV with a ``race_id,race_event_days_id`` header, or JSON (objects, pairs or ids).

    A row without a race event days id (empty, null, or no such column) stands for all
    the race's days.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        if text.lstrip().startswith(("[", "{")):
            rows: Any = json.loads(text)
            if isinstance(rows, dict):
                rows = rows.get("race_days", rows.get("races"))
            if not isinstance(rows, list):
                raise ValueError("expected a JSON list of race days")
            return [_race_day(row) for row in rows]
        reader = csv.DictReader(text.splitlines())
        if "race_id" not in (reader.fieldnames or ()):
            raise ValueError("the CSV header must name race_id (and race_event_days_id)")
        return [_race_day(row) for row in reader]
    except (ValueError, TypeError, KeyError) as exc:
        raise CliError(f"{path}: {exc}") from None


def _race_day(row: Any) -> RaceDay | int:
    if isinstance(row, dict):
        pair = (row["race_id"], row.get("race_event_days_id"))
    elif isinstance(row, list) and len(row) == 2:
        pair = (row[0], row[1])
    elif isinstance(row, int | str) and not isinstance(row, bool):
        pair = (row, None)
    else:
        raise ValueError(f"not a race day: {row!r}")
    race, day = (_whole(value) for value in pair)
    if race is None:
        raise ValueError(f"no race_id in {row!r}")
    try:
        return RaceDay.or_race(race) if day is None else RaceDay(race, day)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


def _whole(value: Any) -> int | None:
    """A CSV cell or JSON value as a whole number; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not an id: {value!r}")
    return int(value)


def _sizes(text: str) -> tuple[str, ...]:
    try:
        return check_sizes(text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


async def run_harvest(args: argparse.Namespace) -> int:
    races: list[RaceDay | int] = list(args.race or ())
    if args.races_file:
        races += read_races_file(args.races_file)
    if args.fake:
        return await _harvest_fake(args, races)
    if not races:
        raise CliError("nothing to harvest: give --races-file FILE or --race RACE_ID[:DAY_ID]")
    if args.queue:
        from ._workers import run_queued

        return await run_queued(args, races)
    if args.detach:
        raise CliError("--detach goes with --queue URL (a harvest run by workers)")
    auth = resolve_auth(args, ENDPOINTS["get-race-photos"])
    return await _harvest(
        args, Client(auth, base_url=args.base_url, **_client_options(args)), races
    )


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"download_concurrency": args.download_concurrency}
    options.update(redis_options(args))
    if args.rate is not None:
        options["rate_limit"] = rate_limit_of(args.rate)
    return options


async def _harvest_fake(args: argparse.Namespace, races: list[RaceDay | int]) -> int:
    from ..testing import FakeRunSignup

    async with FakeRunSignup(
        seed=FAKE_SEED, races=FAKE_RACES, photos_per_race_day=FAKE_PHOTOS_PER_DAY
    ) as fake:
        print(f"Harvesting from the embedded fake RunSignup at {fake.base_url}", file=sys.stderr)
        if not races:
            races = [RaceDay(*pair) for pair in fake.race_days()]
        options = _client_options(args)
        # A local fake needs no politeness: list at a brisk pace.
        options.setdefault("rate_limit", RateLimit(per_second=50, burst=10))
        client = Client(fake.v2_auth(), base_url=fake.base_url, max_concurrency=4, **options)
        return await _harvest(args, client, races)


async def _harvest(args: argparse.Namespace, client: Client, races: list[RaceDay | int]) -> int:
    async with client:
        with make_progress(not args.quiet) as progress:
            async with watch_limits(client, progress):
                summary = await harvest(
                    client,
                    races,
                    args.dest,
                    sizes=args.sizes,
                    concurrency=args.concurrency,
                    progress=progress,
                    since_last=args.since_last,
                    s3_endpoint=args.s3_endpoint,
                )
    print(render_summary(summary, args.dest), flush=True)
    return 0 if summary.ok else 1


def _open_manifest(dest: str) -> Manifest:
    try:
        return Manifest.open(Path(dest) / MANIFEST_NAME, create=False)
    except FileNotFoundError:
        raise CliError(
            f"no harvest manifest in {dest} (run 'harvest --dest {dest}' first)"
        ) from None


def _location(dest: str, key: str) -> str:
    """Where a file of the index is: a path under a directory, a URL under a bucket."""
    return f"{dest.rstrip('/')}/{key}" if is_s3(dest) else str(Path(dest) / key)


def _hit_json(hit: BibHit, dest: str) -> dict[str, Any]:
    return {
        "bib": hit.bib,
        "race_id": hit.race_id,
        "race_event_days_id": hit.race_event_days_id,
        "photo_id": hit.photo_id,
        "album_id": hit.album_id,
        "uploaded_ts": hit.uploaded_ts,
        "uploaded_filename": hit.uploaded_filename,
        "files": {size: _location(dest, rel) for size, rel in sorted(hit.files.items())},
    }


async def photos_by_bib(args: argparse.Namespace) -> int:
    if is_s3(args.dest):
        hits = await bucket_bib_hits(args.dest, args.bib, s3_endpoint=args.s3_endpoint)
    else:
        with _open_manifest(args.dest) as manifest:
            hits = manifest.photos_by_bib(args.bib)
    for hit in hits:
        print(json.dumps(_hit_json(hit, args.dest)))
    if not hits:
        print(f"no photos of bib {args.bib} in {args.dest}", file=sys.stderr)
    return 0


def _export(hits: Iterator[BibHit], dest: str, fmt: str, out: Any) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(["bib", "race_id", "race_event_days_id", "photo_id", "album_id",
                         "uploaded_ts", "uploaded_filename", *SIZES])  # fmt: skip
        for hit in hits:
            row = _hit_json(hit, dest)
            files = row.pop("files")
            writer.writerow([*row.values(), *(files.get(size, "") for size in SIZES)])
            count += 1
        return count
    out.write("[")  # streamed: the index may be larger than memory should hold
    for hit in hits:
        out.write(("," if count else "") + "\n  " + json.dumps(_hit_json(hit, dest)))
        count += 1
    out.write("\n]\n")
    return count


async def bib_index(args: argparse.Namespace) -> int:
    if is_s3(args.dest):
        hits = await bucket_bib_hits(args.dest, s3_endpoint=args.s3_endpoint)
        return _write_index(args, iter(hits))
    with _open_manifest(args.dest) as manifest:
        return _write_index(args, manifest.bib_index())  # streamed while the file is open


def _write_index(args: argparse.Namespace, hits: Iterator[BibHit]) -> int:
    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            count = _export(hits, args.dest, args.format, out)
        print(f"wrote {count} bib entries to {args.output}", file=sys.stderr)
    else:
        _export(hits, args.dest, args.format, sys.stdout)
    return 0


def _add_s3_endpoint(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--s3-endpoint",
        metavar="URL",
        help="S3-compatible endpoint for s3:// locations (default: AWS_ENDPOINT_URL, else AWS)",
    )


def add_harvest_commands(commands: Any) -> None:
    p = commands.add_parser("harvest", help="download every photo of many race days, resumably")
    p.add_argument(
        "--races-file",
        metavar="FILE",
        help="CSV (race_id,race_event_days_id) or JSON; no day id: all the race's days",
    )
    p.add_argument(
        "--race",
        action="append",
        type=parse_race,
        metavar="RACE_ID[:DAY_ID]",
        help="a race day, or a race id alone for all its race days (repeatable)",
    )
    p.add_argument("--dest", required=True, metavar="DIR|s3://BUCKET/PREFIX")
    p.add_argument(
        "--sizes", type=_sizes, default=("original",), metavar="original,large,thumbnail"
    )
    p.add_argument("--concurrency", type=int, default=8, help="race days listed at once")
    p.add_argument("--download-concurrency", type=int, default=8, help="images fetched at once")
    p.add_argument("--rate", type=float, help=f"{RATE_HELP} (default: the SDK's)")
    p.add_argument("--since-last", action="store_true", help="only photos new since the last run")
    p.add_argument("--fake", action="store_true", help="harvest from an embedded fake server")
    p.add_argument("--quiet", action="store_true", help="no progress display, summary only")
    _add_s3_endpoint(p)
    add_common(p)
    add_queue_flags(p)
    p.set_defaults(run=run_harvest)
    add_worker_commands(commands, add_common, _add_s3_endpoint)

    p = commands.add_parser("photos-by-bib", help="which harvested photos show a bib (JSON lines)")
    p.add_argument("dest", metavar="DIR|s3://BUCKET/PREFIX")
    p.add_argument("--bib", type=int, required=True)
    _add_s3_endpoint(p)
    p.set_defaults(run=photos_by_bib)

    p = commands.add_parser("bib-index", help="export the bib index of a harvest (CSV or JSON)")
    p.add_argument("dest", metavar="DIR|s3://BUCKET/PREFIX")
    _add_s3_endpoint(p)
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--output", "-o", metavar="FILE", help="default: stdout")
    p.set_defaults(run=bib_index)
