"""Shared fixtures: the real menu, its engine, a helper that plays scripted calls, and the
collection of the YAML scenarios in tests/scenarios (one test per scenario per path)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

import pytest

from ivr.engine import Engine
from ivr.menu import Menu, load_menu
from ivr.scenarios import PATHS, Runner, Scenario, ScenarioFileError, load_file
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


def transcript(events: list[Event]) -> list[tuple[object, ...]]:
    """What a caller experiences, in the terms TwiML can carry (no node or prompt ids)."""
    out: list[tuple[object, ...]] = []
    for e in events:
        if e["type"] == "say":
            out.append(("say", e["lang"], e["spoken"]))
        elif e["type"] == "listen":
            out.append(("listen", e["timeout"], e["speech"]))
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


@cache
def scenario_runner() -> Runner:
    """One runner (one engine, one TwiML service) for the whole session."""
    return Runner(load_menu(MENU_PATH), MENU_PATH)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and SCENARIO_DIR in file_path.parents:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    """A scenario file: a broken one fails collection with its file:line problems."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            scenarios = load_file(self.path, scenario_runner().menu)
        except ScenarioFileError as exc:
            raise self.CollectError(str(exc)) from None
        for scenario in scenarios:
            for path in PATHS:
                yield ScenarioItem.from_parent(self, name=f"{scenario.name}[{path}]", scenario=scenario, path_name=path)


class ScenarioFailed(Exception):
    """Carries the report `ivr test` prints for the same failure."""


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, path_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.path_name = path_name

    def runtest(self) -> None:
        outcome = scenario_runner().run(self.scenario, self.path_name)
        if not outcome.passed:
            raise ScenarioFailed(outcome.report())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.line - 1, f"scenario {self.scenario.name} [{self.path_name}]"
