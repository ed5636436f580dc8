"""What tests share besides fixtures: the checkout's paths, times in Japan, the language keys,
ways to read a call's events, and the whole calls played through every branch in every language.
Tests import it as `support`: pyproject.toml's pytest `pythonpath` puts tests/ on sys.path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from ivr.simulator import Event

ROOT = Path(__file__).resolve().parent.parent
MENU_PATH = ROOT / "menus" / "free_dial.yaml"
JST = ZoneInfo("Asia/Tokyo")
LANG_KEYS = {"ja": "1", "en": "2", "zh": "3", "ko": "4", "es": "5", "pt": "6"}


def jst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


WEEKDAY_MORNING = jst(2026, 12, 7, 10, 0)  # a Monday


Caller = Callable[..., list[Event]]
"""The `call` fixture: call("2 5 1", at=..., lang=None) -> the events of that call through the engine."""


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


def transcript(events: list[Event]) -> list[tuple[object, ...]]:
    """What a caller experiences, in the terms TwiML can carry (no node or prompt ids)."""
    out: list[tuple[object, ...]] = []
    for e in events:
        if e["type"] == "say":
            out.append(("say", e["lang"], e["spoken"]))
        elif e["type"] == "listen":
            out.append(("listen", e["timeout"], tuple(e["hints"])))
        elif e["type"] == "transfer":
            out.append(("transfer", e["to"]))
        elif e["type"] == "input":
            out.append(("input", e["kind"], e.get("value")))
        else:
            out.append((e["type"],))
    return out


# Whole calls through every branch: (script, time), played in each language.
SCENARIOS = [
    ("1", WEEKDAY_MORNING), ("2", WEEKDAY_MORNING), ("3", WEEKDAY_MORNING), ("4", WEEKDAY_MORNING),
    ("1", jst(2026, 12, 6, 23, 0)), ("1 2", jst(2026, 12, 6, 23, 0)), ("2 busy 1", jst(2026, 12, 6, 23, 0)),
    ("3 wait wait", jst(2026, 11, 23, 19, 0)), ("5 1 1 2 1 1 1 3", jst(2022, 7, 1, 10, 0)),
    ("5 1 1 1 2 2 2", jst(2022, 7, 1, 10, 0)), ("5 1 2 3", jst(2026, 12, 7, 10, 0)),
    ("5 3 * 9 0 busy 2", WEEKDAY_MORNING), ("wait wait wait 7 7 7", WEEKDAY_MORNING), ("1 busy 1 busy wait wait", WEEKDAY_MORNING),
]
SPOKEN = {"ja": ("はい", "いいえ"), "en": ("yes", "no"), "zh": ("是的", "没有"), "ko": ("네", "아니요"),
          "es": ("sí", "no"), "pt": ("sim", "não")}


def scenario_scripts() -> list[tuple[str, dt.datetime]]:
    """(script, time) for every scenario in every language, spoken Q&A answers in each language,
    and a Japanese caller who never chooses a language."""
    out = []
    for lang, key in LANG_KEYS.items():
        out += [(f"{key} {script}", at) for script, at in SCENARIOS]
        yes, no = SPOKEN[lang]
        out.append((f"{key} 5 1 'say:{yes}' 'say:{no}' 'say:{yes}' 'say:{yes}'", jst(2022, 7, 1, 10, 0)))
    out.append(("wait wait wait 2", jst(2026, 12, 6, 23, 0)))
    return out


# -- YAML scenarios (docs/scenarios.md): `ivr test` and pytest play the same files ------------
SCENARIO_DIR = ROOT / "tests" / "scenarios"
