"""The runsignup-async command: each subcommand's success path, errors, exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from runsignup_async.cli import main
from runsignup_async.testing import FakeRunSignup

pytestmark = pytest.mark.usefixtures("v2_env")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_albums_and_photos_print_json(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str]
) -> None:
    race_id, day_id = fake.race_days()[0]
    day = [
        "--race-id",
        str(race_id),
        "--race-event-days-id",
        str(day_id),
        "--base-url",
        fake.base_url,
    ]
    code, out, _ = run(capsys, "albums", *day)
    assert code == 0 and {a["race_event_days_id"] for a in json.loads(out)} == {day_id}
    code, out, _ = run(capsys, "photos", *day, "--num", "5")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 12 and all("photo_id" in p for p in lines)
    code, out, _ = run(capsys, "photos", *day, "--page", "2", "--num", "5")
    assert code == 0 and len(out.splitlines()) == 5


def test_api_error_is_one_line_with_the_code(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "albums",
        "--race-id",
        "999999",
        "--race-event-days-id",
        "1",
        "--base-url",
        fake.base_url,
    )
    line = one_error_line(err)
    assert code == 1 and out == ""
    assert "albums" in line and "error 15" in line and "not found" in line
    assert fake.credentials.rsu_api_secret not in err


def test_missing_credentials_say_which_variables(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNSIGNUP_RSU_API_SECRET")
    code, _, err = run(capsys, "photos", "--race-id", "1", "--race-event-days-id", "2",
                       "--base-url", fake.base_url)  # fmt: skip
    assert code == 1 and "RUNSIGNUP_RSU_API_SECRET" in one_error_line(err)


def test_key_flags_override_environment(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    race_id, day_id = fake.race_days()[0]
    monkeypatch.setenv("RUNSIGNUP_API_KEY", fake.credentials.api_key)
    monkeypatch.setenv("RUNSIGNUP_API_SECRET", fake.credentials.api_secret)
    albums = ["albums", "--race-id", str(race_id), "--race-event-days-id", str(day_id),
              "--base-url", fake.base_url, "--auth", "api"]  # fmt: skip
    code, _, err = run(capsys, *albums)
    assert code == 0, err
    code, _, err = run(capsys, *albums, "--api-key", "wrong")
    assert code == 1 and "error 6" in one_error_line(err)


def test_posts_from_files(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    race_id, day_id = fake.race_days()[0]
    base = ["--base-url", fake.base_url]
    acts = tmp_path / "a.json"
    acts.write_text(json.dumps({"activities": [
        {"tally_split_date": "2024-05-01", "result_split_tally_value": 5.2}]}))  # fmt: skip
    event = str(fake.event_ids(race_id)[0])
    code, out, err = run(capsys, "activities", "submit", str(acts), "--race-id", str(race_id),
                         "--event-id", event, "--bib-num", "7", *base)  # fmt: skip
    assert code == 0, err
    assert len(json.loads(out)["tally_split_nums"]) == 1

    types = tmp_path / "t.json"
    types.write_text(json.dumps({"race_team_types": [{"team_type": "Corporate"}]}))
    code, out, err = run(capsys, "team-types", "set", str(types), "--race-id", str(race_id),
                         "--race-event-days-id", str(day_id), *base)  # fmt: skip
    assert code == 0, err
    assert len(json.loads(out)["team_type_ids"]) == 1

    c = fake.credentials
    monkeypatch.setenv("RUNSIGNUP_TMP_KEY", c.tmp_key)
    monkeypatch.setenv("RUNSIGNUP_TMP_SECRET", c.tmp_secret)
    monkeypatch.setenv("RUNSIGNUP_SIGNER_ID", str(c.signer_id))
    monkeypatch.setenv("RUNSIGNUP_SIGNER_SECRET", c.signer_secret)
    race = tmp_path / "r.json"
    race.write_text(json.dumps({"race": {
        "name": "CLI 5K", "url_string": "Cli5K", "address": {"city": "Moorestown", "state": "NJ"},
        "events": [{"name": "5K", "start_time": "2030-05-01 08:00:00",
                    "event_type": "running_race"}]}}))  # fmt: skip
    code, out, err = run(capsys, "race", "create", str(race), *base)
    assert code == 0, err
    created = json.loads(out)["race_id"]
    edit = json.loads(race.read_text())
    del edit["race"]["url_string"]
    race.write_text(json.dumps(edit))
    code, out, err = run(capsys, "race", "edit", str(race), "--race-id", str(created), *base)
    assert code == 0, err
    assert json.loads(out)["race_id"] == created


def test_bad_input_file_is_one_line(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    code, _, err = run(capsys, "team-types", "set", str(bad), "--race-id", "1",
                       "--race-event-days-id", "2", "--base-url", fake.base_url)  # fmt: skip
    assert code == 1 and "not valid JSON" in one_error_line(err)
    bad.write_text(json.dumps({"activities": [{"tally_split_date": "yesterday"}]}))
    code, _, err = run(capsys, "activities", "submit", str(bad), "--race-id", "1",
                       "--event-id", "2", "--base-url", fake.base_url)  # fmt: skip
    assert code == 1 and "result_split_tally_value" in one_error_line(err)
    code, _, err = run(capsys, "harvest", "--races-file", str(tmp_path / "none.csv"),
                       "--dest", str(tmp_path / "d"))  # fmt: skip
    assert code == 1 and "cannot read" in one_error_line(err)


def test_harvest_from_races_file_then_bibs(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    races = tmp_path / "races.csv"
    races.write_text("race_id,race_event_days_id\n" + "".join(
        f"{r},{d}\n" for r, d in fake.race_days()))  # fmt: skip
    dest = tmp_path / "dest"
    code, out, err = run(capsys, "harvest", "--races-file", str(races), "--dest", str(dest),
                         "--sizes", "original,thumbnail", "--base-url", fake.base_url,
                         "--rate", "500")  # fmt: skip
    assert code == 0, err
    assert "24 downloaded" in out and "Harvest complete" in out
    assert "listed race" in err  # plain log lines when not on a terminal
    assert "recorded race" in err  # each race day as it is recorded

    photo = fake.photos(*fake.race_days()[0])[0]
    bib = next(p["bibs"][0] for r in fake.race_days() for p in fake.photos(*r) if p["bibs"])
    code, out, _ = run(capsys, "photos-by-bib", str(dest), "--bib", str(bib))
    hits = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and hits and all(h["bib"] == bib for h in hits)
    assert all(Path(p).is_file() for h in hits for p in h["files"].values())
    assert set(hits[0]["files"]) == {"original", "thumbnail"}

    code, out, _ = run(capsys, "bib-index", str(dest), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows and {r["bib"] for r in rows} >= {str(bib)}
    code, out, _ = run(capsys, "bib-index", str(dest), "--format", "json")
    assert code == 0 and len(json.loads(out)) == len(rows)
    assert photo["photo_id"] > 0


def test_harvest_failure_exits_1_with_the_list(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    races = tmp_path / "races.json"
    races.write_text(json.dumps([[r, d] for r, d in fake.race_days()] + [[999999, 1]]))
    code, out, _ = run(capsys, "harvest", "--races-file", str(races), "--dest", str(tmp_path / "d"),
                       "--base-url", fake.base_url, "--rate", "500")  # fmt: skip
    assert code == 1
    assert "Failures (1):" in out and "race 999999 day 1: listing failed" in out
    assert "24 downloaded" in out


def test_harvest_fake_is_the_readme_main_job(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "harvest", "--fake", "--dest", str(tmp_path / "demo"))
    assert code == 0 and "Harvest complete" in out and "200 downloaded" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["harvest", "--race", "12-34", "--dest", "x"])
    assert exc.value.code == 2
    assert "RACE_ID:RACE_EVENT_DAYS_ID" in capsys.readouterr().err
