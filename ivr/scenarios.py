"""Menu tests that operators write in YAML, played through the engine and through the TwiML service.

`Runner.run` plays one scenario (see `ivr.scenario_file` for the format) on one path:
`engine`, the state machine directly, or `twiml`, webhooks and TwiML through the service's
protocol (`ivr.voice`): the webhooks and TwiML Twilio gets, without HTTP, Flask's routing
or signatures (tests/test_web.py plays the same calls through the Flask app). It returns an `Outcome` whose `report()` is the message both
`ivr test` and pytest print: the failed checks and the call's transcript. TwiML does not
name nodes, so `at_node` and `offers` are checked on the engine path only. The format,
with examples, is in docs/scenarios.md.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from .describe import outcome, standing
from .edges import offered_keys
from .engine import (
    DialOutcome,
    End,
    Engine,
    HangUp,
    Input,
    Listen,
    Press,
    Speak,
    Step,
    Transfer,
    Utterance,
)
from .errors import Problem
from .menu import Menu
from .menu_coverage import Coverage
from .scenario_file import (
    DEFAULT_AT,
    Scenario,
    ScenarioFileError,
    ScenarioStep,
    load_file,
    scenario_files,
)
from .simulator import Busy, EngineLine, Line, Token, action_event
from .speech import display, spoken
from .voice import Voice
from .wire import WireError, WireLine, voice_transport

__all__ = ["ENGINE", "PATHS", "TWIML", "FileRun", "Outcome", "Runner", "Scenario", "ScenarioFileError",
           "default_scenario_dir", "load_file", "run_file", "scenario_files", "summary"]

ENGINE, TWIML = "engine", "twiml"
PATHS = (ENGINE, TWIML)
ENGINE_ONLY = ("at_node", "offers")
SHOWN = 140  # characters of an utterance shown in a transcript, except at the failing step


# -- running -----------------------------------------------------------------------------
@dataclass
class Outcome:
    """One scenario played on one path: passed, or where it failed, with the call's transcript."""

    scenario: Scenario
    path: str
    at: dt.datetime
    transcript: list[tuple[int, str]] = field(default_factory=list)
    """(step number, line); step 0 is the start of the call."""
    failed_step: int | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def report(self) -> str:
        """The failure as `ivr test` and pytest print it: where, what was expected, and the call."""
        sc = self.scenario
        head = f'{sc.file}:{sc.line}: scenario "{sc.name}" FAILED on the {self.path} path'
        when = f"  call at {self.at.isoformat(timespec='minutes')}" + (f", lang {sc.lang}" if sc.lang else "")
        lines = [head, when]
        if self.failed_step is not None:
            step = sc.steps[self.failed_step - 1]
            lines.append(f"  step {self.failed_step} (line {step.line}, {step.label()}):")
        lines += [f"    - {f}" for f in self.failures]
        lines.append("  transcript:")
        for number, text in self.transcript:
            if number != self.failed_step and len(text) > SHOWN:
                text = text[:SHOWN - 1] + "…"
            lines.append(f"    {text}")
        return "\n".join(lines)


class _Stop(Exception):
    """The scenario cannot go on (an input after the call ended, busy without a transfer...)."""


class Runner:
    """Plays scenarios against one menu file, on the engine and through the TwiML service."""

    def __init__(self, menu: Menu, menu_path: Path, coverage: Coverage | None = None) -> None:
        self.menu = menu
        self.menu_path = menu_path
        self.engine = Engine(menu)
        self.coverage = coverage
        self._now = DEFAULT_AT
        self._voice: Voice | None = None

    def _line(self, path: str, at: dt.datetime) -> Line:
        if path == ENGINE:
            return EngineLine(self.engine, at)
        self._now = at
        if self._voice is None:  # one service for the whole run; its clock reads the scenario's time
            self._voice = Voice.local(self.menu_path, lambda: self._now)
        return WireLine(voice_transport(self._voice), self.menu)

    def run(self, scenario: Scenario, path: str) -> Outcome:
        at = scenario.moment(self.menu.menu.timezone)
        out = Outcome(scenario, path, at)
        line = self._line(path, at)
        number = 0
        try:
            current = self._answered(out, 0, line.start(scenario.lang))
            for number, step in enumerate(scenario.steps, 1):
                got = self._play(out, number, line, current, step.tokens()) if step.tokens() else [current]
                failures = _check(step, got, path, self.menu)
                if failures:
                    out.failed_step, out.failures = number, failures
                    return out
                current = got[-1]
            if isinstance(current.action, Listen):  # the caller puts the phone down
                out.transcript.append((number, "(end of the scenario: the caller hangs up)"))
                line.send(HangUp())
        except _Stop as stop:
            out.failed_step, out.failures = number, [str(stop)]
        except WireError as exc:
            out.failed_step, out.failures = number, [f"the TwiML service failed: {exc}"]
        return out

    def _play(self, out: Outcome, number: int, line: Line, current: Step, tokens: list[Token]) -> list[Step]:
        """Send one step's inputs (several for press: "25"); the engine's answer to each."""
        got: list[Step] = []
        for token in tokens:
            out.transcript.append((number, f"step {number} > {_input_label(token)}"))
            if isinstance(current.action, End):
                raise _Stop("the call has already ended; remove this step, or change the ones that end the call")
            if isinstance(current.action, Transfer):
                if not isinstance(token, Busy):
                    raise _Stop(f"the call was transferred to {current.action.to}, so staff answered and the call "
                                "is theirs; to test a transfer that nobody answers, write busy as the next step")
                event: Input = DialOutcome(answered=False)
            elif isinstance(token, Busy):
                raise _Stop(f"busy only follows a transfer, but {_state(current)}")
            else:
                event = token
            if isinstance(event, Press) and self.coverage is not None and out.path == ENGINE:
                self.coverage.press(current.node, event)
            current = self._answered(out, number, line.send(event))
            got.append(current)
        return got

    def _answered(self, out: Outcome, number: int, step: Step) -> Step:
        if self.coverage is not None and out.path == ENGINE:
            self.coverage.step(step)
        out.transcript += [(number, f"[{u.lang}] {u.text}") for u in step.say]
        out.transcript.append((number, _shown(step)))
        return step


def _input_label(token: Token) -> str:
    if isinstance(token, Press):
        return f"press {token.key}"
    if isinstance(token, Speak):
        return f'say "{token.text}"'
    if isinstance(token, Busy):
        return "busy (nobody answers)"
    return "hang up" if isinstance(token, HangUp) else "silence"


def _shown(step: Step) -> str:
    """A step's outcome as a transcript line (worded as `ivr sim` words it)."""
    return outcome(action_event(step))


def _state(step: Step) -> str:
    """Where the call stands after `step`, for a failure message."""
    return standing(action_event(step))


# -- checking ----------------------------------------------------------------------------
_DIGIT_GAPS = re.compile(r"(?<=\d)[\s,\-]+(?=\d)")


def _loose(text: str) -> str:
    """Digits with their separators taken out: "0120-95-0178" and "0 1 2 0, 9 5, 0 1 7 8" agree."""
    return _DIGIT_GAPS.sub("", text)


def _hears(said: list[Utterance], text: str, path: str) -> bool:
    """Whether `text` is in any utterance: as shown on the engine path, as spoken over TwiML."""
    if path == ENGINE:
        return any(display(text) in u.text for u in said)
    return any(_loose(spoken(text)) in _loose(u.spoken) for u in said)


def _check(step: ScenarioStep, got: list[Step], path: str, menu: Menu) -> list[str]:
    said = [u for s in got for u in s.say]
    last = got[-1]
    fails = [f'hears "{t}": not heard' + ("" if said else " (nothing was said)")
             for t in step.hears if not _hears(said, t, path)]
    shown = [u.text if path == ENGINE else u.spoken for u in said]
    fails += [f'hears_pattern "{p}": nothing said matches' for p in step.hears_pattern
              if not any(re.search(p, s) for s in shown)]
    fails += [f'not_hears "{t}": it was said' for t in step.not_hears if _hears(said, t, path)]
    if step.transfer_to is not None and not (isinstance(last.action, Transfer) and last.action.to == step.transfer_to):
        fails.append(f"transfer_to {step.transfer_to}: {_state(last)}")
    if step.hangs_up is not None and isinstance(last.action, End) != step.hangs_up:
        fails.append(f"hangs_up {str(step.hangs_up).lower()}: {_state(last)}")
    if path != ENGINE:  # TwiML carries no node names
        return fails
    if step.at_node is not None and last.node != step.at_node:
        fails.append(f"at_node {step.at_node}: the call is at {last.node}")
    if step.offers is not None:
        keys = offered_keys(menu, last.node) if isinstance(last.action, Listen) else None
        if keys is None:
            fails.append(f"offers {', '.join(step.offers)}: {_state(last)}, it takes no keys")
        elif sorted(keys) != sorted(step.offers):
            fails.append(f"offers {', '.join(step.offers)}: node {last.node} offers {', '.join(keys)}")
    return fails


# -- a whole file --------------------------------------------------------------------------
@dataclass
class FileRun:
    """Every scenario of one file on every path, or the problems that kept the file from running."""

    file: Path
    problems: list[Problem] = field(default_factory=list)
    outcomes: list[dict[str, Outcome]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems and all(o.passed for by_path in self.outcomes for o in by_path.values())


def run_file(runner: Runner, file: Path) -> FileRun:
    try:
        scenarios = load_file(file, runner.menu)
    except ScenarioFileError as exc:
        return FileRun(file, exc.problems)
    return FileRun(file, outcomes=[{path: runner.run(s, path) for path in PATHS} for s in scenarios])


def default_scenario_dir() -> Path:
    """tests/scenarios here, else the one beside the package (a source checkout), else the copy
    installed with it (ivr/data/scenarios/, from a wheel: see pyproject.toml)."""
    package = Path(__file__).resolve().parent
    candidates = (Path("tests/scenarios"), package.parent / "tests" / "scenarios")
    return next((path for path in candidates if path.exists()), package / "data" / "scenarios")


def summary(runs: list[FileRun]) -> str:
    """One closing line: how many scenarios passed on both paths, and what failed where."""
    scenarios = [by_path for run in runs for by_path in run.outcomes]
    failed = sum(not all(o.passed for o in by_path.values()) for by_path in scenarios)
    per_path = ", ".join(f"{p} {sum(not b[p].passed for b in scenarios)}" for p in PATHS)
    broken = sum(bool(run.problems) for run in runs)
    text = (f"{len(scenarios)} scenario(s) in {len(runs)} file(s): {len(scenarios) - failed} passed, "
            f"{failed} failed (failures by path: {per_path})")
    if broken:
        text += f"; {broken} file(s) could not be read"
    return text + f". {' and '.join(ENGINE_ONLY)} are checked on the engine path only."
