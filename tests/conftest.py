"""Fixtures: the real menu, its engine, a helper that plays scripted calls; and the collection
of the YAML scenarios in tests/scenarios (one test per scenario per path). Helpers that tests
import are in support.py."""

from __future__ import annotations

import datetime as dt
import os
from functools import cache
from pathlib import Path
from typing import Any, Iterator

import pytest
from support import MENU_PATH, SCENARIO_DIR, WEEKDAY_MORNING, Caller

from ivr.engine import Engine
from ivr.loader import load_menu
from ivr.menu import Menu
from ivr.scenarios import PATHS, Runner, Scenario, ScenarioFileError, load_file
from ivr.simulator import EngineLine, Event, parse_script, play


@pytest.fixture(scope="session", autouse=True)
def _records_of_the_tests_own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every service a test starts (and every `ivr` it runs) keeps its default call records in a
    folder of the session's, never in the user's own data folder."""
    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data"))
    yield
    if saved is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = saved


@pytest.fixture(scope="session")
def menu() -> Menu:
    return load_menu(MENU_PATH)


@pytest.fixture(scope="session")
def engine(menu: Menu) -> Engine:
    return Engine(menu)


@pytest.fixture
def call(engine: Engine) -> Caller:
    """call("2 5 1", at=..., lang=None) -> the events of that call through the engine."""

    def run(script: str, at: dt.datetime = WEEKDAY_MORNING, lang: str | None = None) -> list[Event]:
        return list(play(EngineLine(engine, at), parse_script(script), lang))

    return run


@cache
def scenario_runner(menu_path: Path = MENU_PATH) -> Runner:
    """One runner (one engine, one TwiML service) per menu for the whole session."""
    return Runner(load_menu(menu_path), menu_path)


def scenario_menu(file_path: Path) -> Path:
    """The menu a scenario file is for: tests/scenarios/city/ holds menus/city.yaml's (docs/scenarios.md)."""
    folder = file_path.relative_to(SCENARIO_DIR).parts[:-1]
    named = MENU_PATH.parent / f"{folder[0]}.yaml" if folder else MENU_PATH
    return named if named.is_file() else MENU_PATH


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and SCENARIO_DIR in file_path.parents:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    """A scenario file: a broken one fails collection with its file:line problems."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            scenarios = load_file(self.path, scenario_runner(scenario_menu(self.path)).menu)
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
        outcome = scenario_runner(scenario_menu(self.path)).run(self.scenario, self.path_name)
        if not outcome.passed:
            raise ScenarioFailed(outcome.report())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.line - 1, f"scenario {self.scenario.name} [{self.path_name}]"
