"""Dated hours and announcements: closure days and special hours in a calendar (yearly, one-off,
time ranges), what lint says about them, and dated notices at the start of a call."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from support import MENU_PATH, Caller, after_last_input, jst

from ivr.engine import Engine
from ivr.hours import is_open
from ivr.loader import check_text
from ivr.menu import Calendar

OFFICE = {"weekdays": "09:00-17:00", "saturday": "10:00-12:00", "special": [
    {"days": "12-29..01-03", "hours": "closed", "note": "year-end holidays"},
    {"days": "2026-12-30", "hours": "10:00-12:00", "note": "a one-off morning inside the holidays"},
    {"days": "2027-05-06..2027-05-07", "hours": "closed"},
    {"days": "08-14", "hours": "13:00-15:00"},
]}


@pytest.mark.parametrize(("when", "open_"), [
    (jst(2026, 12, 28, 10, 0), True),    # Monday before the holidays
    (jst(2026, 12, 29, 10, 0), False),   # a Tuesday: closed every year from 29 December...
    (jst(2027, 1, 3, 10, 0), False),     # ...into the next year, to 3 January
    (jst(2027, 1, 4, 10, 0), True),
    (jst(2026, 12, 30, 11, 0), True),    # a one-off day wins over the yearly range
    (jst(2026, 12, 30, 12, 0), False),   # ...with its own hours
    (jst(2027, 12, 30, 11, 0), False),   # and only in its year
    (jst(2027, 5, 6, 10, 0), False),     # a one-off range (a Thursday)
    (jst(2027, 5, 8, 11, 0), True),      # the Saturday after: its usual hours
])
def test_special_days_replace_the_usual_hours(when: dt.datetime, open_: bool) -> None:
    calendar = Calendar.model_validate(OFFICE)
    assert is_open(calendar, when) is open_


def test_special_hours_on_a_yearly_day() -> None:
    calendar = Calendar.model_validate(OFFICE)
    assert is_open(calendar, jst(2027, 8, 16, 14, 0))        # a Monday, usual hours
    assert not is_open(calendar, jst(2028, 8, 14, 10, 0))    # a Monday 14 August: only 13:00-15:00
    assert is_open(calendar, jst(2028, 8, 14, 13, 0)) and not is_open(calendar, jst(2028, 8, 14, 15, 0))


def test_the_free_dial_is_closed_over_the_year_end_but_the_lost_card_line_is_not(call: Caller) -> None:
    for at in (jst(2026, 12, 29, 10, 0), jst(2027, 1, 2, 12, 0)):
        events = call("2 1", at=at)
        assert [e for e in events if e["type"] == "listen"][-1]["node"] == "after_hours"
        said = " ".join(str(e["text"]) for e in after_last_input(events) if e["type"] == "say")
        assert "except December 29 to January 3" in said
        assert next(e for e in call("2 2", at=at) if e["type"] == "transfer")["node"] == "lost_desk"
    assert next(e for e in call("2 1", at=jst(2027, 1, 4, 10, 0)) if e["type"] == "transfer")["node"] == "card_desk"


# -- lint -------------------------------------------------------------------------------------
MENU = MENU_PATH.read_text(encoding="utf-8")
SPECIAL = """    special:
      # The free dial takes no calls over the year-end holidays (J-LIS's own contact pages; the
      # seed pages are silent). The lost-card line (always:) stays open.
      - days: "12-29..01-03"
        hours: closed
        note: year-end holidays
"""


def lint(text: str) -> list[str]:
    _, found = check_text(text, "menu.yaml")
    return [str(p) for p in found]


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(("days", "message"), [
    ('"12-32"', "day is out of range for month"),
    ('"2026-12-31..2026-12-01"', "ends before it begins; write the earlier day first"),
    ('"12-29..2027-01-03"', "give a year on both ends or on neither"),
    ('"Dec 29"', 'write "MM-DD" or "MM-DD..MM-DD" \\(every year\\)|write "MM-DD"'),
])
def test_bad_days_are_reported_at_their_line(days: str, message: str) -> None:
    assert SPECIAL in MENU
    text = MENU.replace('      - days: "12-29..01-03"', f"      - days: {days}")
    found = lint(text)
    assert len(found) == 1 and found[0].startswith(f"menu.yaml:{line_of(text, '      - days: ')}: error: "), found
    assert re.search(message, found[0]), found


def test_special_days_on_an_always_open_calendar_are_an_error() -> None:
    text = MENU.replace("    always_open: true\n", "    always_open: true\n    special: [{days: 01-01, hours: closed}]\n", 1)
    found = lint(text)
    assert found == [(f"menu.yaml:{line_of(text, '    special: [{days: 01-01')}: error: calendar always is always_open, "
                      "so its special days are never used; remove them, or drop always_open and give the usual hours")]


def test_overlapping_special_days_are_a_warning() -> None:
    text = MENU.replace(SPECIAL, SPECIAL + '      - days: "01-02"\n        hours: closed\n')
    found = lint(text)
    assert len(found) == 1 and ": warning: calendar hotline special 2 (01-02) overlaps special 1 (12-29..01-03)" in found[0]


# -- announcements -----------------------------------------------------------------------------
def test_the_announcement_is_said_in_its_window_after_the_lost_card_sentence(call: Caller) -> None:
    for lang_key, at, expected in (("2", jst(2022, 6, 30, 10, 0), True), ("2", jst(2022, 7, 8, 23, 0), True),
                                   ("2", jst(2022, 6, 29, 23, 0), False), ("2", jst(2022, 7, 9, 0, 0), False)):
        said = [e["prompt"] for e in call(lang_key, at=at) if e["type"] == "say"][6:]
        assert said == (["lost_card_first", "busy_until_july_8", "fraud_warning", "main", "press_or_say"] if expected
                        else ["lost_card_first", "fraud_warning", "main", "press_or_say"]), at


def test_the_announcement_is_said_once_a_call(call: Caller) -> None:
    events = call("2 5 3", at=jst(2022, 7, 1, 10, 0))  # Mynapoint, then the fraud warning again
    assert [e["prompt"] for e in events if e["type"] == "say"].count("busy_until_july_8") == 1


def test_a_call_with_its_language_chosen_hears_it_too(engine: Engine) -> None:
    _, step = engine.start(jst(2022, 7, 1, 10, 0), lang="ko")
    assert [u.prompt for u in step.say][:2] == ["lost_card_first", "busy_until_july_8"]
    assert step.say[1].text.startswith("7월 8일까지")


ANNOUNCEMENTS = "  - id: busy_until_july_8\n    from: 2022-06-30\n    until: 2022-07-08\n"


def test_an_announcement_that_ends_before_it_begins_or_reuses_a_name_is_an_error() -> None:
    assert ANNOUNCEMENTS in MENU
    text = MENU.replace(ANNOUNCEMENTS, ANNOUNCEMENTS.replace("until: 2022-07-08", "until: 2022-06-01"))
    assert lint(text) == [(f"menu.yaml:{line_of(text, 'until: 2022-06-01')}: error: announcement busy_until_july_8 "
                           "ends (2022-06-01) before it begins (2022-06-30); write until: on or after from:")]
    text = MENU.replace(ANNOUNCEMENTS, ANNOUNCEMENTS.replace("id: busy_until_july_8", "id: main"))
    found = lint(text)
    assert len(found) == 1 and "announcement id 'main' is already used by a node" in found[0]


def test_an_announcement_missing_a_language_is_reported() -> None:
    text = MENU.replace("      pt: As linhas estarão muito ocupadas até 8 de julho. O Mynapoint não é por ordem de chegada.\n", "")
    found = lint(text)
    assert len(found) == 1 and "has no text for pt" in found[0], found


def test_a_saved_announcement_is_taken_live(tmp_path: Path) -> None:
    from ivr.archive import FolderArchive
    from ivr.live import MenuStore

    path = tmp_path / "free_dial.yaml"
    path.write_text(MENU, encoding="utf-8")
    store = MenuStore(path, archive=FolderArchive(tmp_path / "archive"))
    store.refresh()
    at = jst(2026, 12, 10, 10, 0)
    _, step = store.current().engine.start(at, lang="en")
    assert "notice" not in [u.prompt for u in step.say]
    notice = ("  - id: notice\n    from: 2026-12-09\n    until: 2026-12-11\n    say:\n"
              + "".join(f"      {code}: Closed on December 12.\n" for code in ("ja", "en", "zh", "ko", "es", "pt")))
    text = MENU.replace("\nnodes:\n", "\n" + notice + "\nnodes:\n", 1)
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 10_000_000
    os.utime(path, ns=(stamp, stamp))
    store.refresh()
    _, step = store.current().engine.start(at, lang="en")
    assert [u.prompt for u in step.say][:2] == ["lost_card_first", "notice"]
