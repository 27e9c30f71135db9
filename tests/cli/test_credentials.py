"""Where the CLI takes credentials from: never a secret on the command line; a secrets
file (or standard input) and the environment; the modes each endpoint takes, from the one
endpoint table."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from runsignup_async.cli import main
from runsignup_async.testing import FakeRunSignup

pytestmark = pytest.mark.usefixtures("v2_env")

SECRET_FLAGS = [
    ("--api-secret", "RUNSIGNUP_API_SECRET"),
    ("--rsu-api-secret", "RUNSIGNUP_RSU_API_SECRET"),
    ("--sp-api-secret", "RUNSIGNUP_SP_API_SECRET"),
    ("--tmp-secret", "RUNSIGNUP_TMP_SECRET"),
    ("--bearer-token", "RUNSIGNUP_BEARER_TOKEN"),
    ("--signer-secret", "RUNSIGNUP_SIGNER_SECRET"),
]


def albums_args(fake: FakeRunSignup, *extra: str) -> list[str]:
    race_id, day_id = fake.race_days()[0]
    return ["albums", "--race-id", str(race_id), "--race-event-days-id", str(day_id),
            "--base-url", fake.base_url, *extra]  # fmt: skip


@pytest.mark.parametrize(("flag", "variable"), SECRET_FLAGS)
def test_a_secret_given_as_a_flag_is_refused_before_anything_is_sent(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], flag: str, variable: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(albums_args(fake, flag, "s3cr3t-value"))
    err = capsys.readouterr().err
    assert info.value.code == 2
    last = err.strip().splitlines()[-1]
    assert flag in last and variable in last and "--secrets-file" in last
    assert "s3cr3t-value" not in err
    assert sum(fake.request_counts.values()) == 0


def write_secrets(path: Path, fake: FakeRunSignup, mode: int) -> Path:
    c = fake.credentials
    path.write_text(
        "# api credentials\n"
        f"export RUNSIGNUP_API_KEY={c.api_key}\n"
        f"RUNSIGNUP_API_SECRET='{c.api_secret}'\n\n"
    )
    os.chmod(path, mode)
    return path


def test_a_private_secrets_file_supplies_the_credentials(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    secrets = write_secrets(tmp_path / "rsu.env", fake, 0o600)
    code = main(albums_args(fake, "--auth", "api", "--secrets-file", str(secrets)))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)
    assert fake.request_counts["get-race-photo-albums"] == 1


def test_the_secrets_file_wins_over_the_environment(
    fake: FakeRunSignup,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNSIGNUP_API_KEY", "stale")
    monkeypatch.setenv("RUNSIGNUP_API_SECRET", "stale")
    secrets = write_secrets(tmp_path / "rsu.env", fake, 0o400)
    code = main(albums_args(fake, "--auth", "api", "--secrets-file", str(secrets)))
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_secrets_file_others_may_read_is_refused(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: int
) -> None:
    secrets = write_secrets(tmp_path / "rsu.env", fake, mode)
    code = main(albums_args(fake, "--auth", "api", "--secrets-file", str(secrets)))
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "readable by group or others" in err and f"chmod 600 {secrets}" in err
    assert fake.credentials.api_secret not in err
    assert sum(fake.request_counts.values()) == 0


def test_a_malformed_secrets_file_names_the_line_not_the_value(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    secrets = tmp_path / "rsu.env"
    secrets.write_text("RUNSIGNUP_API_KEY=k\nthis-is-the-secret\n")
    os.chmod(secrets, 0o600)
    code = main(albums_args(fake, "--secrets-file", str(secrets)))
    err = capsys.readouterr().err
    assert code == 1 and "line 2: expected KEY=VALUE" in err
    assert "this-is-the-secret" not in err


def test_secrets_from_standard_input(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = fake.credentials
    stdin = f"RUNSIGNUP_API_KEY={c.api_key}\nRUNSIGNUP_API_SECRET={c.api_secret}\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(albums_args(fake, "--auth", "api", "--secrets-file", "-"))
    assert code == 0, capsys.readouterr().err


def test_team_types_use_the_mode_the_endpoint_takes(
    fake: FakeRunSignup,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Only tmp and bearer are set: team types take bearer, not tmp (the endpoint table).
    c = fake.credentials
    monkeypatch.delenv("RUNSIGNUP_RSU_API_KEY")
    monkeypatch.setenv("RUNSIGNUP_TMP_KEY", c.tmp_key)
    monkeypatch.setenv("RUNSIGNUP_TMP_SECRET", c.tmp_secret)
    monkeypatch.setenv("RUNSIGNUP_BEARER_TOKEN", c.bearer_token)
    race_id, day_id = fake.race_days()[0]
    types = tmp_path / "t.json"
    types.write_text(json.dumps({"race_team_types": [{"team_type": "Corporate"}]}))
    code = main(["team-types", "set", str(types), "--race-id", str(race_id),
                 "--race-event-days-id", str(day_id), "--base-url", fake.base_url])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(json.loads(out)["team_type_ids"]) == 1
    assert fake.team_types[(race_id, day_id)][0]["team_type"] == "Corporate"


def test_auth_naming_a_mode_the_endpoint_does_not_take_is_refused(
    fake: FakeRunSignup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNSIGNUP_TMP_KEY", fake.credentials.tmp_key)
    monkeypatch.setenv("RUNSIGNUP_TMP_SECRET", fake.credentials.tmp_secret)
    code = main(albums_args(fake, "--auth", "tmp"))
    err = capsys.readouterr().err
    assert code == 1
    assert "--auth tmp: get-race-photo-albums takes v2, api" in err
    assert sum(fake.request_counts.values()) == 0
