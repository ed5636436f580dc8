"""Shared fixtures: the real menu, its engine, and a helper that plays scripted calls."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import pytest

from ivr.engine import Engine
from ivr.menu import Menu, load_menu
from ivr.simulator import EngineLine, Event, parse_script, play

ROOT = Path(__file__).resolve().parent.parent
MENU_PATH = ROOT / "menus" / "free_dial.yaml"
JST = ZoneInfo("Asia/Tokyo")
LANG_KEYS = {"ja": "1", "en": "2", "zh": "3", "ko": "4", "es": "5", "pt": "6"}


def jst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


WEEKDAY_MORNING = jst(2026, 12, 7, 10, 0)  # a Monday


@pytest.fixture(scope="session")
def menu() -> Menu:
    return load_menu(MENU_PATH)


@pytest.fixture(scope="session")
def engine(menu: Menu) -> Engine:
    return Engine(menu)


Caller = Callable[..., list[Event]]


@pytest.fixture
def call(engine: Engine) -> Caller:
    """call("2 5 1", at=..., lang=None) -> the events of that call through the engine."""

    def run(script: str, at: dt.datetime = WEEKDAY_MORNING, lang: str | None = None) -> list[Event]:
        return list(play(EngineLine(engine, at), parse_script(script), lang))

    return run


def heard(events: list[Event]) -> str:
    """Everything the caller heard, as shown to staff, one utterance a line."""
    return "\n".join(str(e["text"]) for e in events if e["type"] == "say")


def last(events: list[Event]) -> Event:
    """The final event that is not a note: where the call went."""
    return [e for e in events if e["type"] != "note"][-1]


def after_last_input(events: list[Event]) -> list[Event]:
    """The events that answered the caller's last input (not the hang-up that ends every script)."""
    idx = max((i for i, e in enumerate(events) if e["type"] == "input" and e["kind"] != "hangup"), default=-1)
    return events[idx + 1:]
