"""Subcommands over single endpoints: albums, photos, activities, team-types, race, fake-server.

Each reads its FILE in the API's own request shape, builds the package's models from it
(so they validate before anything is sent) and prints the answer as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import Client, _constants, _convert
from .._endpoint_table import ENDPOINTS
from ..auth import Auth, ProtectedApiSigner
from ..models import Activity, Race, TeamType
from ._credentials import add_credential_flags, resolve_auth, resolve_signer
from ._output import CliError, print_json, print_json_line
from ._redis import add_redis_flag, redis_options

__all__ = ["add_endpoint_commands"]


def client_from(
    args: argparse.Namespace, auth: Auth | None, signer: ProtectedApiSigner | None = None
) -> Client:
    return Client(auth, base_url=args.base_url, signer=signer, **redis_options(args))


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        default=_constants.DEFAULT_BASE_URL,
        help="API root (default %(default)s); e.g. a fake server's",
    )
    add_credential_flags(parser)
    add_redis_flag(parser)


def read_json(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"{path} is not valid JSON: {exc}") from None


def _items(document: Any, key: str, path: str) -> list[Any]:
    # The API's request shape ({"activities": [...]}), or a bare list of the items.
    if isinstance(document, dict) and key in document:
        document = document[key]
    if not isinstance(document, list):
        raise CliError(f"{path}: expected {{{key!r}: [...]}} or a JSON list")
    return document


def _models(items: Sequence[Any], cls: type[Any], key: str) -> list[Any]:
    return [_convert.structure(item, cls, path=f"{key}[{n}]") for n, item in enumerate(items)]


async def albums(args: argparse.Namespace) -> int:
    async with client_from(args, resolve_auth(args, ENDPOINTS["get-race-photo-albums"])) as client:
        found = await client.photos.get_albums(
            race_id=args.race_id, race_event_days_id=args.race_event_days_id
        )
    print_json(found)
    return 0


async def photos(args: argparse.Namespace) -> int:
    async with client_from(args, resolve_auth(args, ENDPOINTS["get-race-photos"])) as client:
        if args.page is not None:
            page = await client.photos.get_photos(
                race_id=args.race_id,
                race_event_days_id=args.race_event_days_id,
                page=args.page,
                num=args.num,
                uploaded_since=args.uploaded_since,
                include_participant_uploads=not args.no_participant_uploads,
                album_id=args.album_id,
            )
            for photo in page:
                print_json_line(photo)
            return 0
        walk = client.photos.iter_photos(
            race_id=args.race_id,
            race_event_days_id=args.race_event_days_id,
            num=args.num,
            uploaded_since=args.uploaded_since,
            include_participant_uploads=not args.no_participant_uploads,
            album_id=args.album_id,
        )
        async for photo in walk:
            print_json_line(photo)
    return 0


async def activities_submit(args: argparse.Namespace) -> int:
    items = _models(_items(read_json(args.file), "activities", args.file), Activity, "activities")
    async with client_from(args, resolve_auth(args, ENDPOINTS["vr-activities"])) as client:
        ids = await client.activities.submit(
            race_id=args.race_id,
            event_id=args.event_id,
            activities=items,
            registration_id=args.registration_id,
            bib_num=args.bib_num,
        )
    print_json({"tally_split_nums": ids})
    return 0


async def team_types_set(args: argparse.Namespace) -> int:
    document = read_json(args.file)
    items = _models(_items(document, "race_team_types", args.file), TeamType, "race_team_types")
    async with client_from(args, resolve_auth(args, ENDPOINTS["team-types"])) as client:
        ids = await client.teams.set_team_types(
            race_id=args.race_id, race_event_days_id=args.race_event_days_id, team_types=items
        )
    print_json({"team_type_ids": ids})
    return 0


def _race(path: str) -> Race:
    document = read_json(path)
    if isinstance(document, dict) and set(document) == {"race"}:
        document = document["race"]
    race: Race = _convert.structure(document, Race, path="race")
    return race


async def race_get(args: argparse.Namespace) -> int:
    # Printed in the request shape that `race edit FILE` reads back.
    async with client_from(args, resolve_auth(args, ENDPOINTS["get-race"])) as client:
        race = await client.races.get(args.race_id)
    print_json(race)
    return 0


async def race_create(args: argparse.Namespace) -> int:
    race = _race(args.file)
    signer = resolve_signer(args)
    async with client_from(args, resolve_auth(args, ENDPOINTS["race"]), signer) as client:
        result = await client.races.create(race)
    print_json(result)
    return 0


async def race_edit(args: argparse.Namespace) -> int:
    race = _race(args.file)
    signer = resolve_signer(args)
    async with client_from(args, resolve_auth(args, ENDPOINTS["race"]), signer) as client:
        result = await client.races.edit(race_id=args.race_id, race=race)
    print_json(result)
    return 0


async def fake_server(args: argparse.Namespace) -> int:
    from ..testing import serve

    await serve(
        args.host,
        args.port,
        seed=args.seed,
        races=args.races,
        days_per_race=args.days_per_race,
        photos_per_race_day=args.photos_per_race_day,
        races_file_out=args.races_file_out,
    )
    return 0


def add_endpoint_commands(commands: Any) -> None:
    """Register the endpoint subcommands on ``commands`` (argparse subparsers)."""
    day = argparse.ArgumentParser(add_help=False)
    day.add_argument("--race-id", type=int, required=True)
    day.add_argument("--race-event-days-id", type=int, required=True)

    p = commands.add_parser("albums", parents=[day], help="a race day's photo albums (JSON)")
    add_common(p)
    p.set_defaults(run=albums)

    p = commands.add_parser("photos", parents=[day], help="a race day's photos (JSON lines)")
    p.add_argument("--page", type=int, help="one page only (default: every page)")
    p.add_argument("--num", type=int, default=100, help="page size (default %(default)s)")
    p.add_argument("--uploaded-since", type=int, metavar="UNIX_TS")
    p.add_argument("--album-id", type=int)
    p.add_argument("--no-participant-uploads", action="store_true")
    add_common(p)
    p.set_defaults(run=photos)

    group = commands.add_parser("activities", help="virtual race activities").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = group.add_parser("submit", help='post {"activities": [...]} from FILE')
    p.add_argument("file", metavar="FILE")
    p.add_argument("--race-id", type=int, required=True)
    p.add_argument("--event-id", type=int, required=True)
    p.add_argument("--registration-id", type=int)
    p.add_argument("--bib-num", type=int)
    add_common(p)
    p.set_defaults(run=activities_submit)

    group = commands.add_parser("team-types", help="race team types").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = group.add_parser(
        "set", parents=[day], help='replace the set with {"race_team_types": [...]} from FILE'
    )
    p.add_argument("file", metavar="FILE")
    add_common(p)
    p.set_defaults(run=team_types_set)

    group = commands.add_parser(
        "race", help="read a race, or create or edit one (protected)"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    p = group.add_parser("get", help="race RACE_ID with all its events (JSON, as edit reads it)")
    p.add_argument("race_id", metavar="RACE_ID", type=int)
    add_common(p)
    p.set_defaults(run=race_get)
    p = group.add_parser("create", help="create the race object in FILE")
    p.add_argument("file", metavar="FILE")
    add_common(p)
    p.set_defaults(run=race_create)
    p = group.add_parser("edit", help="replace race RACE_ID with the race object in FILE")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--race-id", type=int, required=True)
    add_common(p)
    p.set_defaults(run=race_edit)

    p = commands.add_parser("fake-server", help="run the embedded fake RunSignup until Ctrl-C")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--races", type=int, default=3)
    p.add_argument("--days-per-race", type=int, default=1)
    p.add_argument("--photos-per-race-day", type=int, default=25)
    p.add_argument(
        "--races-file-out",
        metavar="PATH",
        help="write the race days as a races file for harvest --races-file (default: print it)",
    )
    p.set_defaults(run=fake_server)
