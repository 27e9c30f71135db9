"""Every JSON example of RunSignup's pages, read from the page text, survives a round trip.

The examples are found in ``tests/api_pages/`` (byte-for-byte copies of the shared docs) by
a marker line, never retyped here: structure into the models, unstructure, and compare the
parsed JSON with the page's.
"""

from __future__ import annotations

import filecmp
import json
from pathlib import Path
from typing import Any

import pytest

from runsignup_async import _convert, _shapes
from runsignup_async.models import Activity, Race, TeamType

PAGES = Path(__file__).resolve().parents[1] / "api_pages"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "runsignup-api"


def example(page: str, marker: str, occurrence: int = 1) -> Any:
    """The JSON object that starts at the first ``{`` after the n-th ``marker`` line."""
    text = (PAGES / page).read_text(encoding="utf-8")
    at = -1
    for _ in range(occurrence):
        at = text.index(marker, at + 1)
    document, _end = json.JSONDecoder().raw_decode(text, text.index("{", at))
    return document


def test_the_page_copies_are_identical_to_the_shared_docs() -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared/runsignup-api is not beside the repository")
    names = sorted(p.name for p in SHARED.iterdir() if p.suffix in (".txt", ".md"))
    assert names == sorted(p.name for p in PAGES.iterdir() if p.suffix in (".txt", ".md"))
    match, mismatch, errors = filecmp.cmpfiles(SHARED, PAGES, names, shallow=False)
    assert (mismatch, errors) == ([], [])
    assert len(match) == 6


def test_albums_response() -> None:
    document = example("get-race-photo-albums.txt", "Use this API to get Race Photo Albums.")
    albums = _shapes.albums_from(document)
    assert [a.album_id for a in albums] == [1, 11, "reg-6827"]
    assert albums[2].last_modified_ts is None
    assert (
        albums[0].album_url
        == "http://runsignup.com//Race/Photos/Location/Photos/NJ/Monroeville/Virtual5k"
    )
    assert {"albums": _convert.unstructure(albums)} == document


def test_photos_response() -> None:
    document = example("get-race-photos.txt", "Response Format")
    photos = _shapes.photos_from(document)
    assert [p.photo_id for p in photos] == [1, 41]
    assert photos[1].bibs == (1145, 1308, 1425)
    assert photos[0].uploaded_ts.timestamp() == 1593547220
    assert {"photos": _convert.unstructure(photos)} == document
    # json.loads unescaped the page's "\/"; nothing escapes it again on the way out.
    assert "\\/" not in json.dumps(_convert.unstructure(photos))


def test_activities_request() -> None:
    document = example("post-vr-activities.txt", "An example of the request is below.")
    activities = [_convert.structure(a, Activity) for a in document["activities"]]
    assert activities[1].validated_pace is False
    assert _shapes.activities_payload(activities) == document


def test_activities_response() -> None:
    document = example("post-vr-activities.txt", "Response")
    assert _shapes.tally_split_nums_from(document) == [7, 8]


def test_team_types_request() -> None:
    document = example("manage-race-team-types.txt", "For JSON requests")
    team_types = [_convert.structure(t, TeamType) for t in document["race_team_types"]]
    assert team_types[0].max_members is None
    assert team_types[0].valid_event_ids == (11428, 11429)
    assert _shapes.team_types_payload(team_types) == document


@pytest.mark.parametrize("section", ["New Race Examples", "Edit Race Examples"])
def test_race_requests(section: str) -> None:
    document = example("create-or-edit-race.txt", section)
    race = _convert.structure(document, Race)
    assert race.partner_id is None
    assert race.events[1].distance == 26.2
    assert _shapes.race_payload(race) == document
    # 8 stays 8: an int must not turn into 8.0 on the wire.
    assert '"distance":8,' in json.dumps(_shapes.race_payload(race), separators=(",", ":"))
