"""The scenario file format: a typed model of what operators write, read with file:line errors.

A file is a list of `Scenario`s, each a list of `ScenarioStep`s (one input and/or checks).
`load_file` parses with `ivr.source.parse` (line numbers kept, as `ivr lint` does),
validates with pydantic (errors worded by `ivr.problems`: an unknown field gets a "did you mean"), then checks
what only the menu can tell (node names, languages), and raises `ScenarioFileError` with
every problem as file:line. Playing scenarios is `ivr.scenarios`; docs/scenarios.md is the
operators' guide.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from .engine import HangUp, Press, Silence, Speak
from .errors import IVRError, Problem
from .menu import LanguageNode, Menu
from .problems import did_you_mean, schema_problems
from .simulator import Busy, Token
from .source import Source, SourceSyntaxError, parse

DEFAULT_AT = dt.datetime(2026, 12, 7, 10, 0)
"""A Monday morning (menu's time zone), when the hotline is open: results never depend on today."""
INPUTS = ("press", "say", "silence", "hangup", "busy")
EXPECTATIONS = ("hears", "hears_pattern", "not_hears", "offers", "transfer_to", "hangs_up", "at_node")
WORDS = ("silence", "hangup", "busy")


class ScenarioFileError(IVRError):
    """A scenario file that cannot be played; `problems` says where (file:line) and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# -- the format --------------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_bool(value: Any, example: str) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"YAML read this as {str(value).lower()}; put the words in quotes, e.g. {example}")  # noqa: TRY004 (pydantic reports ValueError)
    return value


class ScenarioStep(_Model):
    """One input and/or what must have happened after it (or, with no input, after the last one)."""

    press: str | None = Field(None, pattern=r"^[0-9*#]+$")
    say: str | None = Field(None, min_length=1)
    silence: bool = False
    hangup: bool = False
    busy: bool = False
    hears: list[str] = Field(default_factory=list)
    hears_pattern: list[str] = Field(default_factory=list)
    not_hears: list[str] = Field(default_factory=list)
    offers: list[str] | None = None
    transfer_to: str | None = None
    hangs_up: bool | None = None
    at_node: str | None = None

    _line: int = PrivateAttr(0)

    @model_validator(mode="before")
    @classmethod
    def _bare_word(cls, value: Any) -> Any:
        """`- silence`, `- hangup`, `- busy` alone on a line."""
        if isinstance(value, str):
            if value.strip().lower() in WORDS:
                return {value.strip().lower(): True}
            raise ValueError(f"{value!r} is not a step; write silence, hangup or busy alone, "
                             'or fields such as press: "1" and hears: ...')
        return value

    @field_validator("press", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("say", mode="before")
    @classmethod
    def _words(cls, value: Any) -> Any:
        return _no_bool(value, 'say: "yes"')

    @field_validator("transfer_to", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f'write the number in quotes, e.g. transfer_to: "+{value}" (unquoted, YAML drops the +)')  # noqa: TRY004 (pydantic reports ValueError)
        return value

    @field_validator("hears", "hears_pattern", "not_hears", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        value = _no_bool(value, 'hears: "yes"')
        if isinstance(value, (str, int, float)):
            return [str(value)]
        for item in value if isinstance(value, list) else []:
            if not isinstance(item, str):
                raise ValueError(f"{item!r} in this list is not a text: in [a, b] a comma separates items, "  # noqa: TRY004 (pydantic reports ValueError)
                                 "so quote texts that contain commas, or write one per line after '- '")
        return value

    @field_validator("hears_pattern")
    @classmethod
    def _regex(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return value

    @field_validator("offers", mode="before")
    @classmethod
    def _key_list(cls, value: Any) -> Any:
        if isinstance(value, str):  # offers: "123" as a shorthand
            value = list(value)
        if isinstance(value, list):
            value = [str(k) if isinstance(k, int) and not isinstance(k, bool) else k for k in value]
            bad = [k for k in value if not (isinstance(k, str) and re.fullmatch(r"[0-9*#]", k))]
            if bad:
                raise ValueError(f'offers lists single keys in quotes, e.g. offers: ["1", "2"]; not {bad!r}')
        return value

    @model_validator(mode="after")
    def _one_input(self) -> ScenarioStep:
        given = self.inputs_given()
        if len(given) > 1:
            raise ValueError(f"one input per step, this one has {' and '.join(given)}; split it into two steps")
        if not given and not any(getattr(self, e) not in (None, []) for e in EXPECTATIONS):
            raise ValueError("an empty step: give an input (press, say, silence, hangup, busy) "
                             "or something to check (hears, offers, transfer_to, ...)")
        return self

    def inputs_given(self) -> list[str]:
        return [name for name in INPUTS if getattr(self, name) not in (None, False)]

    def tokens(self) -> list[Token]:
        if self.press:
            return [Press(k) for k in self.press]
        if self.say:
            return [Speak(self.say)]
        if self.silence:
            return [Silence()]
        if self.hangup:
            return [HangUp()]
        return [Busy()] if self.busy else []

    @property
    def line(self) -> int:
        return self._line

    def label(self) -> str:
        if self.press:
            return f'press "{self.press}"'
        if self.say:
            return f'say "{self.say}"'
        return self.inputs_given()[0] if self.inputs_given() else "no input: checks the previous answer"


class Scenario(_Model):
    """One call: when it is made, in which language, and its steps."""

    name: str = Field(min_length=1)
    at: dt.datetime | None = None
    lang: str | None = None
    steps: list[ScenarioStep] = Field(min_length=1)

    _file: str = PrivateAttr("")
    _line: int = PrivateAttr(0)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @field_validator("at", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime) or value is None:
            return value
        if isinstance(value, dt.date):
            raise ValueError(f"{value} is a date; give a time too, e.g. {value}T10:00")  # noqa: TRY004 (pydantic reports ValueError)
        try:
            return dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{value!r} is not a date and time; write e.g. 2026-12-07T10:00 "
                             "(the menu's time zone) or 2026-12-07T10:00+09:00") from None

    @property
    def file(self) -> str:
        return self._file

    @property
    def line(self) -> int:
        return self._line

    def moment(self, zone: str) -> dt.datetime:
        """When the call is made; without an offset, in the menu's time zone."""
        at = self.at or DEFAULT_AT
        return at if at.tzinfo else at.replace(tzinfo=ZoneInfo(zone))


_FILE = TypeAdapter(list[Scenario])


# -- loading -----------------------------------------------------------------------------
def scenario_files(paths: Iterable[Path], menu_path: Path | None = None) -> list[Path]:
    """Files named on the command line, and the .yaml/.yml files inside folders (recursively).

    A scenario folder names the menu of its files by their subfolder: tests/scenarios/city/ holds
    the scenarios of menus/city.yaml (a menu file beside `menu_path`), the other files the
    default menu's. So a folder gives the files of `menu_path`: its subfolder of that name if it
    has one, else every file but those in subfolders named after another menu."""
    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        own = path / menu_path.stem if menu_path is not None else None
        if own is not None and own.is_dir():
            path = own
        others = {p.stem for p in menu_path.parent.glob("*.y*ml")} - {menu_path.stem} if menu_path else set()
        out += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                      and not (p.parent != path and p.relative_to(path).parts[0] in others))
    return out


def load_file(path: Path, menu: Menu) -> list[Scenario]:
    """Read, validate and check one scenario file against `menu`; raise ScenarioFileError with every problem."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError([Problem(file, 1, f"cannot read the scenario file: {exc}")]) from None
    try:
        source = parse(text, file)
    except SourceSyntaxError as exc:
        raise ScenarioFileError([Problem(file, exc.line, f"YAML syntax: {exc.message}")]) from None
    problems = [Problem(file, second, f'"{where[-1]}" appears twice in {_where(source.data, where[:-1])} '
                        f"(first at line {first}); keep one") for where, first, second in source.duplicates]
    if not isinstance(source.data, list) or not source.data:
        raise ScenarioFileError(problems + [Problem(file, 1, "a scenario file is a list of scenarios; "
                                                    "begin each one with '- name: ...' (see docs/scenarios.md)")])
    try:
        scenarios = _FILE.validate_python(source.data)
    except ValidationError as exc:
        found = problems + schema_problems(source, exc, list[Scenario], lambda path: _where(source.data, path))
        raise ScenarioFileError(sorted(found, key=lambda p: p.line)) from None
    for i, scenario in enumerate(scenarios):
        scenario._file, scenario._line = file, source.line((i,))
        for j, step in enumerate(scenario.steps):
            step._line = source.line((i, "steps", j))
    problems += _check_against(menu, scenarios, source)
    if problems:
        raise ScenarioFileError(sorted(problems, key=lambda p: p.line))
    return scenarios


def _where(data: Any, path: tuple[Any, ...]) -> str:
    """A path in the file in words: scenario 2 ("Night call"), step 3, press."""
    words: list[str] = []
    rest = list(path)
    if rest and isinstance(rest[0], int):
        i = rest.pop(0)
        name = data[i].get("name") if isinstance(data, list) and i < len(data) and isinstance(data[i], dict) else None
        words.append(f"scenario {i + 1}" + (f' ("{name}")' if name else ""))
        if rest[:1] == ["steps"] and len(rest) > 1 and isinstance(rest[1], int):
            words.append(f"step {rest[1] + 1}")
            rest = rest[2:]
    words += [str(p) if isinstance(p, str) else f"item {p + 1}" for p in rest]
    return ", ".join(words) or "the file"


def _check_against(menu: Menu, scenarios: list[Scenario], source: Source) -> list[Problem]:
    """What only the menu can tell: languages and node names that do not exist, repeated names."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}

    def problem(path: tuple[str | int, ...], message: str) -> None:
        problems.append(Problem(source.file, source.line(path), message))

    for i, scenario in enumerate(scenarios):
        if scenario.name in seen:
            problem((i, "name"), f'two scenarios are named "{scenario.name}" (first at line {seen[scenario.name]}); '
                    "give each its own name")
        seen.setdefault(scenario.name, scenario.line)
        if scenario.lang is not None and scenario.lang not in menu.languages:
            problem((i, "lang"), f"lang {scenario.lang!r} is not a language of the menu "
                    f"(have {', '.join(menu.languages)})" + did_you_mean(scenario.lang, menu.languages))
        elif scenario.lang is not None and not isinstance(menu.nodes[menu.menu.start], LanguageNode):
            problem((i, "lang"), "lang preselects the first language choice, but this menu does not start with one")
        for j, step in enumerate(scenario.steps):
            if step.at_node is not None and step.at_node not in menu.nodes:
                problem((i, "steps", j, "at_node"), f"at_node {step.at_node!r} is not a node of the menu"
                        + did_you_mean(step.at_node, menu.nodes))
    return problems
