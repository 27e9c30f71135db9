"""Unit tests of harvest.layout: the only place that decides where a photo lands."""

from __future__ import annotations

from pathlib import Path

import pytest

from runsignup_async.harvester.layout import (
    Layout,
    album_component,
    extension_of,
    is_temp_name,
    photo_key,
    temp_path,
)


def _path(dest: Path, **overrides: object) -> Path:
    args: dict[str, object] = {
        "race_id": 1, "race_event_days_id": 2, "album_id": 3, "photo_id": 4,
        "size": "original", "url": "https://s3.example/a/b.jpg",
    }  # fmt: skip
    args.update(overrides)
    return Path(Layout(dest).path_of(photo_key(**args)))  # type: ignore[arg-type]


def test_layout_is_race_day_album_photo_size(tmp_path: Path) -> None:
    assert _path(tmp_path) == tmp_path / "1" / "2" / "3" / "4-original.jpg"
    assert _path(tmp_path, album_id="reg-6827", size="thumbnail").parts[-2:] == (
        "reg-6827",
        "4-thumbnail.jpg",
    )


@pytest.mark.parametrize(
    ("url", "ext"),
    [
        ("https://h/x.JPG", ".jpg"),
        ("https://h/x.jpeg?sig=1", ".jpeg"),
        ("https://h/x.png", ".png"),
        ("https://h/x.webp#f", ".webp"),
        ("https://h/x.gif", ".gif"),
        ("https://h/x.php", ".jpg"),
        ("https://h/x", ".jpg"),
        ("https://h/x.jpg%2F..%2F..%2Fevil", ".jpg"),
        ("https://h/..%2F..%2Fx.sh", ".jpg"),
        ("not a url at all", ".jpg"),
        ("https://h/x.toolongextension", ".jpg"),
    ],
)
def test_extension_only_from_known_image_suffixes(url: str, ext: str) -> None:
    assert extension_of(url) == ext


@pytest.mark.parametrize(
    "album_id", ["../../etc", "..", ".", "a/b", "a\\b", "", "x\x00y", "é/ü", "-rf", " "]
)
def test_odd_album_ids_become_one_safe_component(tmp_path: Path, album_id: str) -> None:
    name = album_component(album_id)
    assert name not in ("", ".", "..")
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    path = _path(tmp_path, album_id=album_id)
    assert path.parent.parent.parent.parent == tmp_path


def test_distinct_odd_album_ids_do_not_collide() -> None:
    assert album_component("a/b") != album_component("a\\b")
    assert album_component(12) == "12"


@pytest.mark.parametrize(
    "overrides",
    [{"race_id": -1}, {"photo_id": True}, {"race_event_days_id": "2/../.."}, {"size": "../x"}],
)
def test_bad_ids_and_sizes_are_refused(tmp_path: Path, overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be"):
        _path(tmp_path, **overrides)


def test_temp_names_are_hidden_siblings_recognised_later(tmp_path: Path) -> None:
    final = _path(tmp_path)
    tmp = temp_path(final, "0123456789ab")
    assert tmp.parent == final.parent and tmp.name.startswith(".")
    assert is_temp_name(tmp.name)
    assert not is_temp_name(final.name)
    assert not is_temp_name("manifest.sqlite3")


def test_keys_check_every_id_and_paths_never_leave_the_destination(tmp_path: Path) -> None:
    key = photo_key(race_id=1, race_event_days_id=2, album_id=True, photo_id=4, size="large",
                    url="https://h/x.jpg")  # fmt: skip
    assert key == "1/2/True/4-large.jpg"  # a bool album id is a name, never the int 1
    with pytest.raises(ValueError, match="race_id must be"):
        photo_key(race_id=True, race_event_days_id=2, album_id=1, photo_id=4, size="large",
                  url="https://h/x.jpg")  # fmt: skip
    with pytest.raises(ValueError, match="photo_id must be"):
        photo_key(race_id=1, race_event_days_id=2, album_id=1, photo_id=-4, size="large",
                  url="https://h/x.jpg")  # fmt: skip
    layout = Layout(tmp_path / "dest")
    for bad in ("../x.jpg", "1/../../x.jpg", ".", "1/.."):
        with pytest.raises(ValueError, match="outside the destination"):
            layout.path_of(bad)
