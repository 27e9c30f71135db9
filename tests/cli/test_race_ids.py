"""The CLI by race id: ``race get``, ``harvest --race RACE_ID`` and races files without days."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from runsignup_async import RaceDay
from runsignup_async.cli import main
from runsignup_async.cli._harvest import read_races_file
from runsignup_async.cli._output import CliError
from runsignup_async.testing import FakeRunSignup

pytestmark = pytest.mark.usefixtures("v2_env")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_race_get_prints_what_race_edit_reads_back(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    race_id = fake.race_days()[0][0]
    base = ["--base-url", fake.base_url]
    code, out, err = run(capsys, "race", "get", str(race_id), *base)
    assert code == 0, err
    race = json.loads(out)
    stored = fake.races[race_id]
    assert race["name"] == stored["name"] and race["address"] == stored["address"]
    assert [(e["event_id"], e["race_event_days_id"]) for e in race["events"]] == [
        (e["event_id"], e["race_event_days_id"]) for e in stored["events"]
    ]
    assert race["events"][0]["start_time"] == stored["events"][0]["start_time"]
    assert "url_string" not in race

    c = fake.credentials
    monkeypatch.setenv("RUNSIGNUP_SIGNER_ID", str(c.signer_id))
    monkeypatch.setenv("RUNSIGNUP_SIGNER_SECRET", c.signer_secret)
    before = copy.deepcopy(stored)
    race["name"] = "Edited From The CLI"
    race["allow_past_event_creation"] = "T"  # its events started in 2020 (else error 227)
    edit = tmp_path / "race.json"
    edit.write_text(json.dumps(race))
    code, out, err = run(capsys, "race", "edit", str(edit), "--race-id", str(race_id), *base)
    assert code == 0, err
    after = fake.races[race_id]
    assert after["events"] == before["events"]
    assert after["name"] == "Edited From The CLI"


def test_race_get_of_an_unknown_race_is_one_error_line(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "race", "get", "999999", "--base-url", fake.base_url)
    assert code == 1 and "error 15" in err and len(err.strip().splitlines()) == 1


def test_harvest_a_bare_race_and_a_race_day(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (first, first_day), (second, second_day) = fake.race_days()
    added = fake.add_race_day(first, photos=5).race_event_days_id
    dest = tmp_path / "dest"
    code, out, err = run(capsys, "harvest", "--race", str(first), "--race",
                         f"{second}:{second_day}", "--dest", str(dest),
                         "--base-url", fake.base_url, "--rate", "500")  # fmt: skip
    assert code == 0, err
    assert "29 downloaded" in out  # 12 + 5 for the bare race's two days, 12 for the other
    assert {p.name for p in dest.iterdir() if p.is_dir()} == {str(first), str(second)}
    assert {p.name for p in (dest / str(first)).iterdir()} == {str(first_day), str(added)}


def test_races_file_rows_without_a_day_and_an_unknown_race(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (first, _), (second, second_day) = fake.race_days()
    races = tmp_path / "races.csv"
    races.write_text(f"race_id,race_event_days_id\n{first},\n{second},{second_day}\n999999,\n")
    code, out, err = run(capsys, "harvest", "--races-file", str(races), "--dest",
                         str(tmp_path / "d"), "--base-url", fake.base_url,
                         "--rate", "500")  # fmt: skip
    assert code == 1
    assert "FAILED listing race 999999 (its race days): RunSignup error 15" in err
    assert "Failures (1):" in out and "race 999999: its race days could not be read" in out
    assert "24 downloaded" in out


def test_races_file_forms(tmp_path: Path) -> None:
    forms = {
        "a.csv": "race_id,race_event_days_id\n5,\n6,7\n",
        "b.csv": "race_id\n5\n",
        "c.json": json.dumps(
            [5, [6, 7], {"race_id": 8}, {"race_id": "9", "race_event_days_id": None}]
        ),
        "d.json": json.dumps({"races": [{"race_id": 5, "race_event_days_id": ""}]}),
    }  # fmt: skip
    expected = {
        "a.csv": [5, RaceDay(6, 7)],
        "b.csv": [5],
        "c.json": [5, RaceDay(6, 7), 8, 9],
        "d.json": [5],
    }
    for name, text in forms.items():
        (tmp_path / name).write_text(text)
        assert read_races_file(str(tmp_path / name)) == expected[name], name


@pytest.mark.parametrize(
    "text",
    [
        "race_event_days_id\n5\n",  # no race_id column
        "race_id,race_event_days_id\n,5\n",  # a day without its race
        "race_id,race_event_days_id\n0,\n",
        "race_id,race_event_days_id\nabc,\n",
        json.dumps([True]),
        json.dumps([{"race_id": 5.5}]),
    ],
)
def test_bad_races_file_rows_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json" if text.startswith("[") else tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(CliError):
        read_races_file(str(path))


@pytest.mark.parametrize("race", ["0", "-5", "12-34", "12:", ":5", "12:0", "x"])
def test_bad_race_flags_exit_2(capsys: pytest.CaptureFixture[str], race: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["harvest", "--race", race, "--dest", "x"])
    assert exc.value.code == 2
    assert "RACE_ID or RACE_ID:RACE_EVENT_DAYS_ID" in capsys.readouterr().err
