"""The number called chooses the menu: menus/lines.yaml maps Twilio's `To` to a menu file,
an unknown or missing `To` gets the service's own menu, a call stays on its line across
webhooks, mapping edits and menu edits, and a broken mapping is refused with file:line.

Each app is one worker; `refresh` is what its watcher thread does every second."""

from __future__ import annotations

import logging
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from support import ROOT, WEEKDAY_MORNING, jst

from ivr.cli import cli
from ivr.engine import Call
from ivr.lines import check_lines
from ivr.state import StateCodec
from ivr.web import create_app

CITY = "+815000000001"
FREE_DIAL = "+81120950178"
CITY_MAIN = "If your card is lost or stolen, press 3."  # the city line's first words
FREE_DIAL_WARNING = "If your My Number Card is lost or stolen, press 2 at any time."  # the free dial's first words
ICHINOSEKI = "Ichinoseki city. The city hall's desks are open on weekdays from 8:30 a.m. to 5:15 p.m."
MAPPING = f'numbers:\n  "{CITY}": city.yaml\n'


@pytest.fixture
def menus(tmp_path: Path) -> Path:
    """A menus/ folder with both menus and a mapping that gives CITY the city desks."""
    folder = tmp_path / "menus"
    folder.mkdir()
    for name in ("free_dial.yaml", "city.yaml"):
        shutil.copy(ROOT / "menus" / name, folder / name)
    save(folder / "lines.yaml", MAPPING)
    return folder


def make_app(menus: Path, at: Any = WEEKDAY_MORNING) -> Flask:
    return create_app(str(menus / "free_dial.yaml"), clock=lambda: at,
                      config={"ALLOW_UNSIGNED": True, "STATE_SECRET": "lines", "MENU_CHECK_INTERVAL": 0,
                              "MENU_ARCHIVE": str(menus.parent / "archive")})


def refresh(app: Flask) -> None:
    app.extensions["ivr"].store.refresh()


def save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 10_000_000  # a later mtime even on coarse file systems
    os.utime(path, ns=(stamp, stamp))


def post(app: Flask, path: str, to: str | None = CITY, **params: str) -> ET.Element:
    data = {"CallSid": "CA" + "7" * 32, "From": "+819012345678", **({"To": to} if to is not None else {}), **params}
    reply = app.test_client().post(path, data=data)
    assert reply.status_code == 200 and reply.mimetype == "text/xml"
    return ET.fromstring(reply.get_data(as_text=True))


def says(root: ET.Element) -> list[str]:
    return [s.text or "" for s in root.iter("Say")]


def action(root: ET.Element) -> str:
    gather = root.find("Gather")
    assert gather is not None, ET.tostring(root)
    return str(gather.get("action"))


def dialled(root: ET.Element) -> str:
    number = root.find("Dial/Number")
    assert number is not None, ET.tostring(root)
    return str(number.text)


# -- the number called chooses the menu ------------------------------------------------------
def test_each_number_gets_its_own_menu_and_an_unknown_or_missing_one_the_default(menus: Path) -> None:
    """Unquoted in the mapping, +815000000001 is still read as text: YAML 1.2 keeps the +."""
    save(menus / "lines.yaml", MAPPING.replace(f'"{CITY}"', CITY))
    app = make_app(menus)
    assert says(post(app, "/voice?lang=en"))[0].startswith(CITY_MAIN)
    assert says(post(app, "/voice?lang=en", to=FREE_DIAL))[0].startswith(FREE_DIAL_WARNING)
    assert says(post(app, "/voice?lang=en", to="+819999999999"))[0].startswith(FREE_DIAL_WARNING)
    assert says(post(app, "/voice?lang=en", to=None))[0].startswith(FREE_DIAL_WARNING)
    assert says(post(app, "/voice?lang=en", to="garbage\n\x00" * 50))[0].startswith(FREE_DIAL_WARNING)


def test_a_city_call_stays_on_the_city_menu_from_key_to_key_to_the_desk(menus: Path) -> None:
    app = make_app(menus)
    first = post(app, "/voice")  # the language choice, the same as the free dial's
    assert says(first)[2] == "中文服务请按3。"
    main = post(app, action(first), Digits="2")
    assert says(main)[0].startswith(CITY_MAIN)
    ichinoseki = post(app, action(main), Digits="2")
    assert says(ichinoseki)[0].startswith(ICHINOSEKI)
    desk = post(app, action(ichinoseki), Digits="2")
    assert "telephone 0 1 9 1, 2 1, 8 3 1 0" in says(desk)[0]  # read digit by digit
    assert dialled(desk) == "+81191218310"


def test_the_line_follows_the_call_not_the_number_posted_with_later_webhooks(menus: Path) -> None:
    """Twilio posts the same To on every webhook of a call; if a forged one differs, the state wins."""
    app = make_app(menus)
    main = post(app, "/voice?lang=en")
    ichinoseki = post(app, action(main), to=FREE_DIAL, Digits="2")
    assert says(ichinoseki)[0].startswith(ICHINOSEKI)


def test_a_call_stays_on_its_line_when_the_mapping_drops_its_number(menus: Path) -> None:
    app = make_app(menus)
    main = post(app, "/voice?lang=en")
    save(menus / "lines.yaml", "numbers: {}\n")
    refresh(app)
    assert says(post(app, action(main), Digits="2"))[0].startswith(ICHINOSEKI)  # the call in progress
    assert says(post(app, "/voice?lang=en"))[0].startswith(FREE_DIAL_WARNING)  # a new call to that number
    assert app.test_client().get("/health").json["lines"] == {}  # type: ignore[index]


def test_a_call_finishes_on_its_revision_when_the_city_menu_is_edited(menus: Path) -> None:
    app = make_app(menus)
    main = post(app, "/voice?lang=en")
    city = menus / "city.yaml"
    save(city, city.read_text(encoding="utf-8").replace("Ichinoseki city. The city hall's", "Ichinoseki. The city hall's"))
    refresh(app)
    assert says(post(app, action(main), Digits="2"))[0].startswith(ICHINOSEKI)  # the revision it began on
    again = post(app, "/voice?lang=en")
    assert says(post(app, action(again), Digits="2"))[0].startswith("Ichinoseki. The city hall's")


def test_a_new_number_is_taken_live(menus: Path) -> None:
    save(menus / "lines.yaml", "numbers: {}\n")
    app = make_app(menus)
    assert says(post(app, "/voice?lang=en"))[0].startswith(FREE_DIAL_WARNING)
    save(menus / "lines.yaml", MAPPING)
    refresh(app)
    assert says(post(app, "/voice?lang=en"))[0].startswith(CITY_MAIN)
    assert list(app.test_client().get("/health").json["lines"]) == ["city.yaml"]  # type: ignore[index]


def test_no_mapping_file_is_one_line(menus: Path) -> None:
    (menus / "lines.yaml").unlink()
    app = make_app(menus)
    assert says(post(app, "/voice?lang=en"))[0].startswith(FREE_DIAL_WARNING)
    health = app.test_client().get("/health").json
    assert health["lines"] == {} and health["lines_file"] == "in service"  # type: ignore[index]


def test_a_worker_that_does_not_serve_the_line_restarts_the_call_on_the_number_called(menus: Path) -> None:
    """A worker started after the mapping dropped the city: its calls in progress begin again."""
    token = StateCodec("lines", 600).dump(Call("ichinoseki", "en", "2026.12.1+00000000", line="city.yaml"),
                                          "CA" + "7" * 32, restarts=0)
    save(menus / "lines.yaml", "numbers: {}\n")
    app = make_app(menus)
    root = post(app, f"/voice/gather?s={token}", Digits="1")
    assert says(root)[0] == "We are sorry, something went wrong. Let us start again from the main menu."
    assert says(root)[1].startswith("Please choose from the following.")  # the free dial, now that number's menu


# -- the call's state says which line --------------------------------------------------------
def test_the_token_carries_the_line_and_the_default_lines_token_is_as_before() -> None:
    codec, sid = StateCodec("secret", 600), "CA" + "1" * 32
    city = Call("main", "ko", "2026.12.1+1a2b3c4d", line="city.yaml")
    assert codec.load(codec.dump(city, sid, restarts=1), sid) == (city, 1)
    plain = Call("main", "ko", "2026.11.1+1a2b3c4d")
    longer = codec.dump(city, sid, restarts=1)
    assert len(codec.dump(plain, sid, restarts=1)) < len(longer)
    assert codec.load(codec.dump(plain, sid, restarts=1), sid) == (plain, 1)


# -- a broken mapping ----------------------------------------------------------------------
@pytest.mark.parametrize(("text", "line", "message"), [
    ("numbers:\n  815000000001: city.yaml\n", 2, "'815000000001' is not a number as Twilio sends it in To"),
    ('numbers:\n  "+815000000001": town.yaml\n', 2,
     "+815000000001: there is no menu file town.yaml beside lines.yaml (have city.yaml, free_dial.yaml)"),
    ('numbers:\n  "0191-21-8633": city.yaml\n', 2, ("'0191-21-8633' is not a number as Twilio sends it in To; write "
     '+ and the country code, then the number without its leading 0 or dashes, in quotes (e.g. 0191-21-8633 is '
     '"+81191218633")')),
    ('numbers:\n  "+815000000001": ../city.yaml\n', 2, "'../city.yaml' is not a menu file in this folder"),
    ('numbers:\n  "+815000000001": city.yaml\n  "+815000000001": free_dial.yaml\n', 3,
     '"+815000000001" appears twice (first at line 2); a number is answered by one menu: keep one'),
    ('number:\n  "+815000000001": city.yaml\n', 1, "number"),
    ('numbers:\n  "+815000000001": lines.yaml\n', 2, "+815000000001 names this mapping itself; name a menu file"),
    ('numbers: [city.yaml\n', 1, "YAML syntax"),
])
def test_a_broken_mapping_says_where_and_what_to_fix(menus: Path, text: str, line: int, message: str) -> None:
    path = menus / "lines.yaml"
    save(path, text)
    lines, problems = check_lines(path)
    assert lines is None
    assert any(p.line == line and message in p.message for p in problems), [str(p) for p in problems]
    assert all(str(p).startswith(f"{path}:") for p in problems)


def test_a_broken_mapping_is_refused_and_the_last_good_one_keeps_serving(menus: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(menus)
    save(menus / "lines.yaml", 'numbers:\n  "+815000000001": town.yaml\n')
    with caplog.at_level(logging.ERROR, logger="ivr.live"):
        refresh(app)
        refresh(app)
    assert [r.message.count("town.yaml") for r in caplog.records if r.levelno >= logging.ERROR] == [1]  # logged once, with file:line
    assert f"{menus / 'lines.yaml'}:2: error:" in caplog.text
    assert says(post(app, "/voice?lang=en"))[0].startswith(CITY_MAIN)
    health = app.test_client().get("/health").json
    assert health["lines_file"] == "refused (1 error(s), see the log)"  # type: ignore[index]
    save(menus / "lines.yaml", MAPPING)
    refresh(app)
    assert app.test_client().get("/health").json["lines_file"] == "in service"  # type: ignore[index]


def test_a_worker_starting_on_a_broken_mapping_serves_every_number_the_default_menu(menus: Path) -> None:
    save(menus / "lines.yaml", "numbers: [\n")
    app = make_app(menus)
    assert says(post(app, "/voice?lang=en"))[0].startswith(FREE_DIAL_WARNING)
    assert app.test_client().get("/health").json["lines_file"].startswith("refused")  # type: ignore[index]


def test_a_city_menu_that_cannot_start_leaves_its_number_on_the_default_until_it_is_fixed(menus: Path) -> None:
    city = menus / "city.yaml"
    good = city.read_text(encoding="utf-8")
    save(city, good.replace("next: main", "next: mian", 1))
    app = make_app(menus)
    assert says(post(app, "/voice?lang=en"))[0].startswith(FREE_DIAL_WARNING)
    save(city, good)
    refresh(app)
    assert says(post(app, "/voice?lang=en"))[0].startswith(CITY_MAIN)


def test_the_city_desks_are_closed_at_night_and_say_their_hours(menus: Path) -> None:
    app = make_app(menus, at=jst(2026, 12, 7, 17, 15))  # a Monday, as the desks close
    main = post(app, "/voice?lang=en")
    ichinoseki = post(app, action(main), Digits="2")
    closed = post(app, action(ichinoseki), Digits="1")
    assert closed.find("Dial") is None
    assert says(closed)[-2].startswith("The city hall's desks are closed now. They are open on weekdays, "
                                       "except national holidays, from 8:30 a.m. to 5:15 p.m., Japan time.")
    assert says(closed)[-1] == "Press or say the number."  # a menu node ends with press_or_say


# -- ivr lines ---------------------------------------------------------------------------------
def test_ivr_lines_says_which_menu_answers_each_number(menus: Path) -> None:
    default = menus / "free_dial.yaml"
    result = CliRunner().invoke(cli, ["--menu", str(default), "lines"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"  {CITY} -> {menus / 'city.yaml'}", f"  any other number -> {default}",
                                          f"{menus / 'lines.yaml'}: OK"]


def test_ivr_lines_reports_the_mapping_and_its_menus_with_file_line(menus: Path) -> None:
    save(menus / "city.yaml", (menus / "city.yaml").read_text(encoding="utf-8").replace("next: main", "next: mian", 1))
    save(menus / "lines.yaml", MAPPING + '  "+815000000002": town.yaml\n')
    result = CliRunner().invoke(cli, ["lines", str(menus / "lines.yaml")])
    assert result.exit_code == 1
    assert f"{menus / 'lines.yaml'}:3: error: +815000000002: there is no menu file town.yaml" in result.output
    (menus / "lines.yaml").write_text(MAPPING, encoding="utf-8")
    result = CliRunner().invoke(cli, ["lines", str(menus / "lines.yaml")])
    assert result.exit_code == 1
    assert f"{menus / 'city.yaml'}:240: error: node language next leads to node 'mian'" in result.output
    assert result.output.splitlines()[-1] == f"{menus / 'lines.yaml'}: 1 error(s)"


def test_ivr_lines_without_a_mapping_is_one_line(tmp_path: Path) -> None:
    menu = tmp_path / "free_dial.yaml"
    shutil.copy(ROOT / "menus" / "free_dial.yaml", menu)
    result = CliRunner().invoke(cli, ["--menu", str(menu), "lines"])
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == f"{tmp_path / 'lines.yaml'}: no such file, so every number gets {menu}"


def test_a_worker_starting_while_the_city_menu_is_broken_serves_its_archived_revision(menus: Path) -> None:
    make_app(menus)  # a first worker archives the good city menu, in a folder of its own
    assert list((menus.parent / "archive" / "line-city").glob("*.yaml"))
    save(menus / "city.yaml", "menu: [\n")
    app = make_app(menus)  # a worker (re)started now
    assert says(post(app, "/voice?lang=en"))[0].startswith(CITY_MAIN)
