"""`ivr check`: play every path a caller can take, and report what lint cannot see.

Lint reads the file; this module drives the real engine, through its public API only
(`Engine.start`, `Engine.step` on copies of a `Call`), so it finds what only shows when
calls run: a key that makes the engine fail, a prompt that comes out empty or with a
`{placeholder}` left in it, a node no caller gets to at any time, a caller who stays
silent and is never let go.

How. At each representative moment (`moments`) a breadth-first search visits every
state a call can be in, where a state is (node, language, retries, answers) and is
fed every input: keys 0-9 * #, silence, an unclear phrase, yes and no at a question,
and both outcomes at a transfer. Answers are only read by eligibility nodes,
so a state keeps only the answers that can still be heard (`_live_answers`); moments
whose hours and eligibility rules behave alike are explored once. Speech: the first
time a call waits at a node in a language, every phrase, key name and command heard
there is said and must do what its key does (`hear`). An input is played through the engine
once where nothing that differs can change it, and recalled elsewhere (`_recall`): at a later
moment whose hours and rules are the same where the step depended on them (`_depends`), with
other answers where it entered no eligibility node (the one reader of answers), and, for a
choice, at the place's later retries (entering a node resets them).

Timing. An utterance lasts its spoken length at a per-script rate (below), a silence
the node's timeout, an unanswered transfer `ring_timeout`; keys and speech cost
nothing extra. The worst case for a language is the longest time a caller can spend
before a transfer is answered or the call hangs up, over paths that never come back
to a place (node, language, retries: answers are left out, or one caller could take the
questionnaire once per combination of answers). Entering a node always resets its
retries, so such a path enters each (node, language) once. Over the menu's loops (the
strongly connected components of its places) this is a longest path in a graph without
cycles, found in one pass; inside a loop, a search memoised on the state and the places
entered there (`_longest`), exact up to a bound on its size.
The silent caller chooses the language (when asked) and then only keeps silent, with
nobody answering any transfer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import itertools
import re
import shlex
import time
from collections import ChainMap, deque
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from .catalogue import catalogue, said_as_written
from .edges import edges as menu_edges
from .eligibility import ended, status
from .engine import (
    Action,
    Call,
    DialOutcome,
    End,
    Engine,
    Input,
    Listen,
    Press,
    Silence,
    Speak,
    Step,
    Transfer,
    Utterance,
)
from .errors import Problem
from .hours import is_open
from .menu import KEYS, EligibilityNode, LanguageNode, Menu, MenuNode, QuestionNode, Rule, TransferNode

# Speaking rates of a text-to-speech voice, in characters a second, by script.
LATIN_RATE = 15.0   # English, Spanish, Portuguese (~160 words a minute); also digits, spaces, punctuation
CJK_RATE = 7.0      # Japanese kana and kanji, Chinese hanzi: about 7 characters (syllables, morae) a second
HANGUL_RATE = 8.0   # Korean syllable blocks
SILENT_STEP_LIMIT = 50  # a silent caller must be let go within this many inputs
UNCLEAR = "hmm"     # speech that is no phrase, key name, command, yes or no in any language
ANSWERED = ""       # script token for a transfer that staff answer: `ivr sim` needs none

# Representative moments (wall-clock, in the menu's time zone). 2026-11-23 is Labour
# Thanksgiving Day, a Monday; at 19:00 a weekday line is open and a holiday line closed.
MOMENTS = (
    ("weekday 10:00", dt.datetime(2026, 11, 24, 10, 0)),
    ("weekday 21:00", dt.datetime(2026, 11, 24, 21, 0)),
    ("Saturday 15:00", dt.datetime(2026, 11, 21, 15, 0)),
    ("Sunday 23:00", dt.datetime(2026, 11, 22, 23, 0)),
    ("holiday 19:00", dt.datetime(2026, 11, 23, 19, 0)),
    ("night 03:00", dt.datetime(2026, 11, 25, 3, 0)),
)
RULE_HOUR = dt.time(10, 0)  # time of day used for the eligibility-rule dates, special days and announcements
URGENT_LIMIT = 15.0  # seconds from the first word to the 24/7 (lost-card) transfer, in every language
URGENT_SEARCH = 120.0  # slower ways than this are not looked for (the figure is then "none")
_SENTENCE_END = re.compile(r"(?<=[。？！?!])|(?<=[.;:])(?=\s)")
_DIGIT_GROUPS = re.compile(r"\d(?:,? \d)+")  # a phone number read digit by digit


@dataclass(frozen=True)
class Moment:
    label: str
    at: dt.datetime
    same_as: str | None = None
    """Label of an earlier moment whose hours and rules behave the same (explored once)."""


class State(NamedTuple):
    node: str
    lang: str
    retries: int
    answers: frozenset[tuple[str, bool]]
    """Only the answers an eligibility node may still read."""


class Edge(NamedTuple):
    token: str
    """The input as an `ivr sim` script token."""
    target: State | None
    """None: the call is over."""
    seconds: float
    end: str = ""
    """How the call ended, when it did."""


Played = tuple[Edge, Call, Action]
"""An input's edge, the call after it, and what the call does next."""
Facts = tuple[tuple[str, object], ...]
"""The facts of time a step depended on, with their values (`_facts`)."""
Alike = tuple[float, str, Call, Action, dict[str, bool]]
"""A step the answers cannot change: its seconds, how the call ended ("" if not), the call after
it, what it does next, and the answers it gave."""


@dataclass(frozen=True)
class Walk:
    """A path a caller can take, timed."""

    seconds: float
    script: str
    end: str
    moment: Moment
    exact: bool = True
    """False: a worst case found by a greedy walk where a loop was too rich to try every path
    (see EXACT_LIMIT): the worst case is at least this long."""


@dataclass
class LanguageReport:
    lang: str
    states: int = 0
    worst: Walk | None = None
    silent: Walk | None = None
    urgent: Walk | None = None
    """The quickest way to the 24/7 transfer at the moment it takes longest, keys pressed as soon as said."""
    spoken: int = 0
    """Phrases, key names and commands said at the nodes this language reaches, each checked to do
    what its key does."""


@dataclass
class Report:
    file: str
    moments: list[Moment]
    languages: dict[str, LanguageReport]
    never_pressing: Walk | None
    problems: list[Problem]
    states: int = 0
    steps: int = 0
    played: int = 0
    """Of `steps`, the inputs played through the engine; the others were known to do what they did
    at an earlier moment or before the first retry (`_Explorer._expand`)."""
    elapsed: float = 0.0


@dataclass
class _Graph:
    """Every state reachable at one moment, with its outgoing edges."""

    moment: Moment
    facts: dict[str, object]
    """What time decides at this moment (`_facts`)."""
    start: State | None = None
    start_seconds: float = 0.0
    edges: dict[State, list[Edge]] = field(default_factory=dict)
    parent: dict[State, tuple[State | None, str]] = field(default_factory=dict)
    steps: int = 0
    played: int = 0
    """Of `steps`, those played through the engine."""


# -- speech time --------------------------------------------------------------------------
def _rate(ch: str) -> float:
    code = ord(ch)
    if 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return HANGUL_RATE
    if 0x3000 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xFF00 <= code <= 0xFFEF:
        return CJK_RATE
    return LATIN_RATE


@lru_cache(maxsize=4096)
def speech_seconds(text: str) -> float:
    """How long a voice takes to say `text` (its spoken form), by the rates above."""
    return sum(1.0 / _rate(ch) for ch in text)


def _step_seconds(step: Step) -> float:
    return sum(speech_seconds(u.spoken) for u in step.say)


# -- moments ------------------------------------------------------------------------------
def moments(menu: Menu) -> list[Moment]:
    """The representative times, then (at 10:00) days that put every eligibility rule inside
    its window at least once, the day after every window, and the day before them all when
    some `upcoming` text would otherwise never be heard. All in the menu's time zone."""
    zone = ZoneInfo(menu.menu.timezone)
    out = [Moment(label, at.replace(tzinfo=zone)) for label, at in MOMENTS]
    rules = menu.eligibility.rules if menu.eligibility else []
    days = _rule_days(rules)
    if any(r.upcoming and r.opens and all(day >= r.opens for day in days) for r in rules):
        days[min(r.opens for r in rules if r.opens) - dt.timedelta(days=1)] = "before every rule"
    closes = [r.closes for r in rules if r.closes]
    if closes:
        days[max(closes) + dt.timedelta(days=1)] = "after every rule"
    out += [Moment(f"{label} {day}", dt.datetime.combine(day, RULE_HOUR, zone)) for day, label in sorted(days.items())]
    out += _dated_moments(menu, MOMENTS[0][1].date())
    return _dedupe(menu, out)


def _dated_moments(menu: Menu, base: dt.date) -> list[Moment]:
    """A moment on each calendar's special days (the first such day from `base`, within their
    special hours if they have some) and on the first day of each announcement."""
    zone = ZoneInfo(menu.menu.timezone)
    out = []
    for name, calendar in menu.hours.items():
        for entry in calendar.special:
            y, m, d = entry.days.first
            day = dt.date(y, m, d) if y else next(dt.date(year, m, d) for year in itertools.count(base.year)
                                                   if dt.date(year, m, d) >= base)
            when = entry.hours.opens or RULE_HOUR
            out.append(Moment(f"{name} {entry.note or entry.days.text} {day}",
                              dt.datetime.combine(day, when, ZoneInfo(calendar.timezone)).astimezone(zone)))
    out += [Moment(f"announcement {a.id} {a.starts}", dt.datetime.combine(a.starts, RULE_HOUR, zone))
            for a in menu.announcements]
    return out


def _rule_days(rules: list[Rule]) -> dict[dt.date, str]:
    """Few days, each inside the windows of as many rules as possible, until every rule with a
    window has been open on one of them (a window's first or last day is always a candidate)."""
    waiting = [r for r in rules if r.opens or r.closes]
    candidates = sorted({d for r in waiting for d in (r.opens, r.closes) if d})
    days: dict[dt.date, str] = {}
    while waiting:
        day = max(candidates, key=lambda d: sum(status(r, d) == "open" for r in waiting))
        inside = [r for r in waiting if status(r, day) == "open"]
        if not inside:  # a window that closes before it opens (lint rejects it)
            break
        days[day] = "rules open"
        waiting = [r for r in waiting if r not in inside]
    return days


def _dedupe(menu: Menu, found: list[Moment]) -> list[Moment]:
    """Moments at which time decides the same (`_facts`: every calendar open or closed alike,
    every rule in the same phase, the programme ended or not, the same announcements) give the
    same calls: mark the later ones `same_as` the first."""
    first: dict[tuple[tuple[str, object], ...], str] = {}
    out = []
    for m in found:
        key = tuple(_facts(menu, m.at).items())
        out.append(dataclasses.replace(m, same_as=first.get(key)))
        first.setdefault(key, m.label)
    return out


def _facts(menu: Menu, at: dt.datetime) -> dict[str, object]:
    """What the time `at` decides in the engine: each calendar open or not, each rule's phase and
    whether the programme has ended, and which announcements are said."""
    today = at.astimezone(ZoneInfo(menu.menu.timezone)).date()
    elig = menu.eligibility
    facts: dict[str, object] = {f"hours {name}": is_open(c, at) for name, c in menu.hours.items()}
    facts["rules"] = (tuple(status(r, today) for r in elig.rules), ended(elig, today)) if elig else ()
    facts["announcements"] = tuple(a.starts <= today <= a.until for a in menu.announcements)
    return facts


# -- exploration --------------------------------------------------------------------------
def _live_answers(menu: Menu) -> dict[str, frozenset[str]]:
    """Per node, the answers some eligibility node may still read before a question
    replaces them. Other answers cannot change what a caller hears, so states that
    differ only in them are one state."""
    read = frozenset(k for r in menu.eligibility.rules for k in r.when) if menu.eligibility else frozenset()
    sets = {name: n.answer for name, n in menu.nodes.items() if isinstance(n, QuestionNode)}
    live = {name: read if isinstance(n, EligibilityNode) else frozenset() for name, n in menu.nodes.items()}
    changed = True
    while changed:
        changed = False
        for edge in menu_edges(menu):
            src = edge.source
            flows = live[edge.dest] - {sets[src]} if edge.trigger in ("yes", "no") and src in sets else live[edge.dest]
            if not flows <= live[src]:
                live[src] = live[src] | flows
                changed = True
    return live


class _Explorer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.menu = engine.menu
        self.live = _live_answers(engine.menu)
        self.problems: dict[tuple[object, ...], Problem] = {}
        self.seen: set[str] = set()
        self.heard: set[Utterance] = set()
        self.spoken: dict[str, int] = {}
        """Per language, the phrases tried (`hear`)."""
        self._heard_at: set[tuple[str, str]] = set()
        self._known: dict[tuple[State, str], list[tuple[Facts, Played]]] = {}
        """Steps played or recalled, by state and input, each with the facts of time it depended on
        (`_depends`)."""
        self._alike: dict[tuple[str, str, int, str], list[tuple[Facts, Alike, bool]]] = {}
        """The steps that read no answers (they entered no eligibility node), by place, retries and
        input: the same whatever the answers; with the facts of time each depended on, and whether
        it entered a node (`_recall`)."""
        self._live_of: dict[tuple[str, tuple[tuple[str, bool], ...]], frozenset[tuple[str, bool]]] = {}
        self._known_states: dict[State, list[tuple[Facts, list[Played]]]] = {}
        """Every input at a state, with the facts of time any of them depended on."""
        self.file = self.menu.source.file if self.menu.source else "<menu>"

    def state(self, call: Call) -> State:
        key = (call.node, tuple(call.answers.items()))
        answers = self._live_of.get(key)
        if answers is None:  # few nodes and answers, many calls: each set made once
            live = self.live[call.node]
            answers = self._live_of[key] = frozenset((k, v) for k, v in call.answers.items() if k in live)
        return State(call.node, call.lang, call.retries, answers)

    def inputs(self, call: Call, action: Listen | Transfer) -> list[tuple[str, Input]]:
        if isinstance(action, Transfer):
            return [(ANSWERED, DialOutcome(True)), ("busy", DialOutcome(False))]
        out: list[tuple[str, Input]] = [(k, Press(k)) for k in KEYS]
        out.append(("wait", Silence()))
        lang = self.menu.languages[call.lang]
        question = isinstance(self.menu.nodes[call.node], QuestionNode)
        out += [(shlex.quote(f"say:{text}"), Speak(text))
                for text in ((lang.yes[0], lang.no[0], UNCLEAR) if question else (UNCLEAR,))]
        return out

    def hear(self, call: Call, at: dt.datetime, graph: _Graph, here: State) -> None:
        """Say every phrase, key name and command of this node, once per node and language, and
        check each does what its key does (a phrase that is also another key's name, or one that
        holds another choice's phrase, is heard otherwise: lint catches the plain cases, this the rest)."""
        if (call.node, call.lang) in self._heard_at:
            return
        self._heard_at.add((call.node, call.lang))
        engine, keys = self.engine, self.menu.keys
        book = engine.hearing.book(call.node, call.lang)
        command_keys = {"repeat": keys.repeat, "main_menu": keys.main_menu, "operator": keys.operator}
        said = [(phrase, command_keys.get(target, target)) for phrase, _, target in book.phrases]
        said += [(name, key) for name, key in book.keys.items() if name != key]
        pressed: dict[str, tuple[Step, State] | None] = {}  # each key once: many phrases choose it

        def play(event: Input) -> tuple[Step, State] | None:
            after = call.copy()
            try:
                return engine.step(after, event, at), self.state(after)
            except Exception:  # noqa: BLE001 - the same step is reported by the exploration
                return None

        for phrase, key in said:
            if key is None:
                continue
            self.spoken[call.lang] = self.spoken.get(call.lang, 0) + 1
            if key not in pressed:
                pressed[key] = play(Press(key))
            results = [play(Speak(phrase)), pressed[key]]
            if results[0] is None or results[1] is None or results[0] == results[1]:
                continue
            step = results[0][0]
            what = ("is heard as unclear: another choice's phrase is in it" if step.say and
                    step.say[0].prompt == "not_understood" else f"leads to {step.node}")
            node = self.menu.nodes[call.node]
            path = ("nodes", call.node, "phrases", key, call.lang) if key in getattr(node, "phrases", {}) else \
                ("nodes", call.node)
            self.report(("phrase", call.node, call.lang, phrase), call.node,
                        f"saying {phrase!r} at node {call.node} ({call.lang}) does not do what key {key} does: it "
                        f"{what}", graph, here, shlex.quote(f"say:{phrase}"), path)

    def explore(self, moment: Moment) -> _Graph:
        """Breadth-first over every state reachable at `moment`."""
        graph, engine, at = _Graph(moment, _facts(self.menu, moment.at)), self.engine, moment.at
        try:
            call, step = engine.start(at)
        except Exception as exc:  # noqa: BLE001 - any failure of the engine is a finding
            self.report(("start", type(exc).__name__), self.menu.menu.start,
                        f"the engine fails when a call starts: {type(exc).__name__}: {exc}", graph, None)
            return graph
        graph.start = self.state(call)
        graph.start_seconds = _step_seconds(step)
        graph.parent[graph.start] = (None, "")
        self.inspect(step, graph, graph.start, None)
        calls = {graph.start: (call, step.action)}
        queue = deque([graph.start])
        while queue:
            here = queue.popleft()
            call, action = calls.pop(here)
            assert isinstance(action, (Listen, Transfer))
            if isinstance(action, Listen):
                self.hear(call, at, graph, here)
            edges = graph.edges[here] = []
            for edge, after, then in self._expand(graph, call, action, here):
                edges.append(edge)
                if edge.target is not None and edge.target not in graph.parent:
                    graph.parent[edge.target] = (here, edge.token)
                    calls[edge.target] = (after.copy(), then)
                    queue.append(edge.target)
        return graph

    def _expand(self, graph: _Graph, call: Call, action: Listen | Transfer, here: State) -> list[Played]:
        """Every input at `here`, played through the engine or recalled (`_recall`); a whole state
        at once where an earlier moment expanded it and the facts of time are the same."""
        for facts, whole in self._known_states.get(here, ()):
            if all(graph.facts[name] == value for name, value in facts):
                graph.steps += len(whole)
                return whole
        cost = {"wait": float(action.timeout) if isinstance(action, Listen) else 0.0,
                "busy": float(action.ring_timeout) if isinstance(action, Transfer) else 0.0}
        plays: list[Played] = []
        depended: set[tuple[str, object]] = set()
        failed = False
        inputs = self.inputs(call, action)
        graph.steps += len(inputs)
        for token, event in inputs:
            known = self._recall(graph, call, here, token)
            if known is None:
                known = self._play(graph, call, here, token, event, cost.get(token, 0.0))
                if known is None:
                    failed = True
                    continue
            depended.update(known[0])
            plays.append(known[1])
        if not failed:
            self._known_states.setdefault(here, []).append((tuple(depended), plays))
        return plays

    def _recall(self, graph: _Graph, call: Call, here: State, token: str) -> tuple[Facts, Played] | None:
        """`token` at `here` as played before, where nothing that differs could change it: the facts
        of time it depended on are the same; the answers are read only by an eligibility node, so a
        step that entered none is the same with any answers (they are carried on as they are); and
        entering a node resets the retries, so a choice does what it did before the first retry."""
        for facts, played in self._known.get((here, token), ()):
            if all(graph.facts[name] == value for name, value in facts):
                return facts, played
        for retries in (here.retries, 0) if here.retries else (0,):
            for facts, (seconds, end, done, then, answered), entered in \
                    self._alike.get((here.node, here.lang, retries, token), ()):
                if (retries == here.retries or entered) and all(graph.facts[n] == v for n, v in facts):
                    after = done.copy()
                    after.answers = {**call.answers, **answered}
                    played = (Edge(token, None if end else self.state(after), seconds, end), after, then)
                    self._known.setdefault((here, token), []).append((facts, played))  # the next moment's
                    return facts, played
        return None

    def _play(self, graph: _Graph, call: Call, here: State, token: str, event: Input,
              cost: float) -> tuple[Facts, Played] | None:
        """One input through the engine, as an edge of the graph, with the call after it and what
        it does next; None when the engine fails (reported). Kept for `_recall`, with the facts of
        time it depended on."""
        after = call.copy()
        graph.played += 1
        try:
            step = self.engine.step(after, event, graph.moment.at)
        except Exception as exc:  # noqa: BLE001 - any failure of the engine is a finding
            self.report(("raise", here.node, token, type(exc).__name__), here.node,
                        f"{_describe(token)} at node {here.node} ({here.lang}) makes the engine fail: "
                        f"{type(exc).__name__}: {exc}", graph, here, token)
            return None
        self.inspect(step, graph, here, token, call)
        seconds = cost + _step_seconds(step)
        end = "" if not isinstance(step.action, End) else \
            f"answered at {here.node}" if token == ANSWERED else f"hang-up at {step.node}"
        played = (Edge(token, None if end else self.state(after), seconds, end), after, step.action)
        facts = tuple((name, graph.facts[name]) for name in self._depends(here, step))
        self._known.setdefault((here, token), []).append((facts, played))
        if not any(isinstance(self.menu.nodes[name], EligibilityNode) for name in step.entered):
            answered = {k: v for k, v in after.answers.items() if call.answers.get(k, not v) != v}
            self._alike.setdefault((here.node, here.lang, here.retries, token), []).append(
                (facts, (seconds, end, after, step.action, answered), bool(step.entered)))
        return facts, played

    def _depends(self, here: State, step: Step) -> set[str]:
        """The facts of time (`_facts`) a step depended on. Time reaches the engine only through a
        transfer's hours, an eligibility answer's rules and the announcements said as a language
        node is left: a step that entered no transfer or eligibility node, from a place that is
        not a language choice, plays out alike at any moment."""
        nodes = self.menu.nodes
        depends = {"announcements"} if isinstance(nodes[here.node], LanguageNode) else set()
        for name in step.entered:
            node = nodes[name]
            if isinstance(node, TransferNode):
                depends.add(f"hours {node.hours}")
            elif isinstance(node, EligibilityNode):
                depends.add("rules")
        return depends

    def inspect(self, step: Step, graph: _Graph, here: State | None, token: str | None,
                before: Call | None = None) -> None:
        """Record the nodes a step passed through; report empty or unfilled prompts."""
        self.seen.add(step.node)
        for u in step.say:
            if u in self.heard:  # the engine says the same few utterances over and over
                continue
            self.heard.add(u)
            if u.prompt in self.menu.nodes:
                self.seen.add(u.prompt)
            if not u.spoken.strip():
                self.report(("empty", u.prompt, u.lang), u.prompt, f"prompt {u.prompt} says nothing in {u.lang}",
                            graph, here, token, self._locate(u.lang, u.prompt, None))
            for left in re.findall(r"\{[^{}]*\}?|\}", u.spoken):
                self.report(("brace", u.prompt, u.lang, left), u.prompt,
                            f"prompt {u.prompt} says {left!r} aloud in {u.lang}: a placeholder is not filled "
                            f"(or a brace is stray): {u.text!r}", graph, here, token,
                            self._locate(u.lang, u.prompt, left))
        if isinstance(step.action, Listen) and not step.say:
            self.report(("mute", step.node), step.node, f"node {step.node} waits for the caller without saying "
                        "anything", graph, here, token)
        if before is not None and token and token in KEYS and step.say and step.say[0].prompt == "invalid_key":
            node = self.menu.nodes[before.node]
            if isinstance(node, (MenuNode, LanguageNode)) and token in node.choices:
                self.report(("refused", before.node, token), before.node, f"key {token} is a choice of node "
                            f"{before.node} but the engine answers invalid_key", graph, here, token)

    def _locate(self, lang: str, prompt: str, fragment: str | None) -> tuple[str | int, ...]:
        """The YAML path of the text an utterance came from, for file:line: the sentence of an
        eligibility answer that holds `fragment`, else the prompt said as written."""
        if fragment and isinstance(self.menu.nodes.get(prompt), EligibilityNode):
            for entry in catalogue(self.menu):
                if entry.said_as is None and fragment in entry.texts.get(lang, ""):
                    return entry.path + (lang,)
        written = said_as_written(self.menu).get(prompt)
        return (written.path if written else ("nodes", prompt, "say")) + (lang,)

    def report(self, key: tuple[object, ...], node: str, message: str, graph: _Graph | None,
               here: State | None = None, token: str | None = None,
               path: tuple[str | int, ...] | None = None) -> None:
        """Keep the first occurrence of each problem, with a call that shows it (the fewest inputs)."""
        if key in self.problems:
            return
        if graph is not None:
            tokens = _script(graph, here) + ([token] if token else [])
            replay = f"ivr sim --menu {self.file} --at {graph.moment.at.isoformat(timespec='minutes')}"
            if tokens:
                replay += f" --script {shlex.quote(' '.join(tokens))}"
            message += f" [{graph.moment.label}; try: {replay}]"
        line = self.menu.source.line(path or ("nodes", node)) if self.menu.source else 1
        self.problems[key] = Problem(self.file, line, message)


def _describe(token: str) -> str:
    if token == "wait":
        return "silence"
    if token == "busy":
        return "an unanswered transfer"
    if token == ANSWERED:
        return "an answered transfer"
    return f"key {token}" if token in KEYS else f"speech {shlex.split(token)[0][4:]!r}"


def _script(graph: _Graph, state: State | None) -> list[str]:
    """The inputs that first led to `state` (breadth-first: the fewest)."""
    tokens: list[str] = []
    while state is not None:
        state, token = graph.parent[state]
        if token:
            tokens.append(token)
    return tokens[::-1]


# -- silent callers, traps and dead ends -----------------------------------------------------
class _Silent(NamedTuple):
    steps: int
    seconds: float
    tokens: tuple[str, ...]
    end: str


def _silent_outcomes(graph: _Graph) -> tuple[dict[State, _Silent], list[list[State]]]:
    """Where a caller who only keeps silent (and whom nobody answers) ends from each state,
    and the loops such a caller is caught in."""
    done: dict[State, _Silent] = {}
    loops: list[list[State]] = []
    stuck: set[State] = set()
    for origin in graph.edges:
        trail: list[tuple[State, Edge]] = []
        on_trail: dict[State, int] = {}
        state: State | None = origin
        tail: _Silent | None = None
        while state is not None and state not in done and state not in stuck:
            if state in on_trail:
                loops.append([s for s, _ in trail[on_trail[state]:]])
                break
            edge = next((e for e in graph.edges.get(state, ()) if e.token in ("wait", "busy")), None)
            if edge is None:  # the engine failed on silence here: already reported
                break
            on_trail[state] = len(trail)
            trail.append((state, edge))
            if edge.target is None:
                tail = _Silent(0, 0.0, (), edge.end)
            state = edge.target
        else:
            if state is not None:
                tail = done.get(state)
        if tail is None:
            stuck.update(s for s, _ in trail)
            continue
        for s, edge in reversed(trail):
            tail = _Silent(tail.steps + 1, tail.seconds + edge.seconds, (edge.token, *tail.tokens), tail.end)
            done[s] = tail
    return done, loops


def _dead_ends(graph: _Graph) -> set[State]:
    """States from which no input at all leads to a transfer that is answered or a hang-up."""
    back: dict[State, list[State]] = {s: [] for s in graph.edges}
    can_end: set[State] = set()
    for s, edges in graph.edges.items():
        for e in edges:
            if e.target is None:
                can_end.add(s)
            else:
                back.setdefault(e.target, []).append(s)
    queue = deque(can_end)
    while queue:
        for s in back.get(queue.popleft(), ()):
            if s not in can_end:
                can_end.add(s)
                queue.append(s)
    return set(graph.edges) - can_end


# -- worst case -----------------------------------------------------------------------------
Best = dict[str, tuple[float, tuple[str, ...], str]]  # per final language: seconds, inputs, end
Place = tuple[str, str]  # (node, language): a path enters each at most once
EXACT_LIMIT = 20_000
"""Memo entries one loop (strongly connected component) may take for its exact worst passage;
past it, the passage is the longest found by a greedy walk, and the report says "at least"."""


_CLIMB_FIRST = 1e9  # seconds: in the greedy walk, any retry beats any new place


def _place(state: State) -> Place:
    return state.node, state.lang


class _TooRich(Exception):
    """A loop whose exact worst passage would take more than EXACT_LIMIT."""


class _Worst:
    """The longest timed paths of one graph (see `_longest`)."""

    def __init__(self, graph: _Graph) -> None:
        self.graph = graph
        self.states: dict[Place, list[State]] = {}
        for state in graph.edges:
            self.states.setdefault(_place(state), []).append(state)
        for states in self.states.values():
            states.sort(key=lambda s: -s.retries)  # a place's retries only climb: the highest first
        self.leads_to: dict[Place, set[Place]] = {
            here: {_place(edge.target) for state in states for edge in graph.edges[state] if edge.target is not None}
            - {here} for here, states in self.states.items()}
        """The other places each place has an edge to (every component search filters these)."""
        self.work = 0
        self.exact = True

    def components(self, allowed: frozenset[Place]) -> list[list[Place]]:
        """The strongly connected components of the places in `allowed`, each before any
        component it can be reached from (Tarjan's algorithm, iterative: a menu may be deeper
        than Python's stack)."""
        succ = {here: sorted(self.leads_to.get(here, set()) & allowed) for here in allowed}
        index: dict[Place, int] = {}
        low: dict[Place, int] = {}
        on_stack: set[Place] = set()
        stack: list[Place] = []
        found: list[list[Place]] = []
        for root in sorted(allowed):
            if root in index:
                continue
            work = [(root, 0)]
            while work:
                place, i = work.pop()
                if i == 0:
                    index[place] = low[place] = len(index)
                    stack.append(place)
                    on_stack.add(place)
                children = succ[place]
                if i > 0:
                    low[place] = min(low[place], low[children[i - 1]])
                while i < len(children) and children[i] in index:
                    if children[i] in on_stack:
                        low[place] = min(low[place], index[children[i]])
                    i += 1
                if i < len(children):
                    work += [(place, i + 1), (children[i], 0)]
                    continue
                if low[place] == index[place]:
                    component: list[Place] = []
                    while not component or component[-1] != place:
                        component.append(stack.pop())
                        on_stack.discard(component[-1])
                    found.append(component)
        return found

    def passage(self, allowed: frozenset[Place], known: MutableMapping[State, Best], wanted: list[State],
                depth: int = 0) -> dict[State, Best]:
        """The longest ways on from each of `wanted` (states just entered), through the places
        in `allowed` (none of them entered yet) and out to `known` ones (a state missing from
        `known` is in a place already entered). A component of several places is entered at
        one of them, which the rest of the path cannot enter again: the longest ways through
        the others are the same problem, one place smaller."""
        self.work += len(allowed)
        if depth and self.work > EXACT_LIMIT:
            raise _TooRich
        components = self.components(allowed)
        number = {place: i for i, places in enumerate(components) for place in places}
        entries: dict[int, list[State]] = {}
        for place in allowed:
            for state in self.states.get(place, ()):
                for edge in self.graph.edges[state]:
                    if edge.target is not None and (there := _place(edge.target)) in allowed \
                            and number[there] != number[place]:
                        entries.setdefault(number[there], []).append(edge.target)
        for state in wanted:
            entries.setdefault(number[_place(state)], []).append(state)
        lower: dict[State, Best] = {}  # the components already done: reachable, never entered
        for i, places in enumerate(components):
            current: dict[State, Best] = {}
            through: dict[Place, dict[State, Best]] = {}
            rest = frozenset(places)
            for entry in dict.fromkeys(entries.get(i, ())):
                here = _place(entry)
                if here not in through:
                    if depth == 0:
                        self.work = 0  # each loop of the menu gets the whole bound
                    try:
                        inside = self._inside(here, rest, ChainMap(lower, known), depth)
                    except _TooRich:
                        if depth:
                            raise
                        self.exact = False
                        current.update(self.greedy(rest, ChainMap(lower, known), entries[i]))
                        break
                    through[here] = self._climbs(here, ChainMap(inside, lower, known))
                current[entry] = through[here][entry]
            lower.update(current)
        return {state: lower[state] for state in wanted}

    def _inside(self, here: Place, places: frozenset[Place], known: MutableMapping[State, Best],
                depth: int) -> dict[State, Best]:
        """The longest ways on from the states of `places` that `here` leads to, `here` entered."""
        if len(places) == 1:
            return {}
        others = places - {here}
        targets = [edge.target for state in self.states[here] for edge in self.graph.edges[state]
                   if edge.target is not None and _place(edge.target) in others]
        return self.passage(others, known, list(dict.fromkeys(targets)), depth + 1)

    def _climbs(self, here: Place, known: MutableMapping[State, Best]) -> dict[State, Best]:
        """The longest way on from each state of `here`: climbing its retries, or leaving for
        a state of `known`."""
        out: dict[State, Best] = {}
        for state in self.states[here]:  # the highest retries first: what a climb leads to is known
            best: Best = {}
            for edge in self.graph.edges[state]:
                target = edge.target
                if target is None:
                    _add(best, edge, {state.lang: (0.0, (), edge.end)})
                elif _place(target) == here:
                    if target != state and target.retries > state.retries:
                        _add(best, edge, out[target])
                elif target in known:
                    _add(best, edge, known[target])
            out[state] = best
        return out

    def greedy(self, places: frozenset[Place], known: MutableMapping[State, Best], entries: list[State]) -> dict[State, Best]:
        """A long way from each entry of a loop too rich to search: climb the retries of the place
        the walk is in, then walk on into the place not yet entered where the edge and the
        retries there take longest; at each state weigh every way out of the loop (or to the
        end). Linear in the states of the loop."""
        stays = {}
        for place in places:
            stays.update({s: max((b[0] for b in v.values()), default=0.0) for s, v in self._climbs(place, {}).items()})
        found: dict[State, Best] = {}
        for entry in dict.fromkeys(entries):
            out: Best = {}
            state, entered = entry, {_place(entry)}
            seconds, tokens = 0.0, tuple[str, ...]()
            while True:
                step: tuple[float, Edge] | None = None
                for edge in self.graph.edges.get(state, ()):
                    target = edge.target
                    if target is not None and _place(target) in places:
                        climb = _place(target) == _place(state)
                        if climb and target.retries <= state.retries or not climb and _place(target) in entered:
                            continue
                        weight = edge.seconds + stays[target] + (_CLIMB_FIRST if climb else 0.0)
                        if step is None or weight > step[0]:
                            step = (weight, edge)
                        continue
                    later = {state.lang: (0.0, (), edge.end)} if target is None else known.get(target)
                    for lang, (more, rest, end) in (later or {}).items():
                        total = seconds + edge.seconds + more
                        if lang not in out or total > out[lang][0]:
                            out[lang] = (total, tokens + (edge.token, *rest), end)
                if step is None:
                    break
                edge = step[1]
                assert edge.target is not None
                state = edge.target
                entered.add(_place(state))
                seconds, tokens = seconds + edge.seconds, tokens + (edge.token,)
            found[entry] = out
        return found


def _longest(graph: _Graph) -> tuple[Best, bool]:
    """The longest timed path from the start to an end, per language, that never returns to a
    place (node, language, retries), and whether it is exact. Entering a node resets its
    retries, so such a path enters each (node, language) at most once and otherwise only
    climbs the retries of the node it is in.

    Over the components of the places' graph, taken from the last to the first, a path that
    leaves a component never comes back, so the longest way on from a state that enters one
    depends on that state alone: one pass, as in a graph without cycles. Inside a loop the
    place it was entered at is then closed, and the rest is the same problem, smaller
    (`_Worst.passage`): polynomial for the loops menus have (a key back to the main menu, a
    question that returns), exponential for a mesh of loops, so bounded by EXACT_LIMIT; a
    loop past it gets a greedy walk, and the report says "at least"."""
    if graph.start is None:
        return {}, True
    worst = _Worst(graph)
    found = worst.passage(frozenset(worst.states), {}, [graph.start])[graph.start]
    return {lang: (graph.start_seconds + s, tokens, end) for lang, (s, tokens, end) in found.items()}, worst.exact


def _add(out: Best, edge: Edge, found: Best) -> None:
    """Keep, per language, the longer of what `out` has and `edge` followed by `found`."""
    for lang, (seconds, tokens, end) in found.items():
        total = edge.seconds + seconds
        if lang not in out or total > out[lang][0]:
            out[lang] = (total, (edge.token, *tokens), end)


# -- the lost card first --------------------------------------------------------------------------
def barge_seconds(say: tuple[Utterance, ...], key: str) -> float:
    """When a caller who presses `key` as soon as told can press it: at the end of the first
    sentence that names the key (a phone number read digit by digit does not name it), else at the
    end of everything said. Keys work while a prompt is being said (TwiML's <Gather>)."""
    said, names = 0.0, re.compile(rf"(?<![\d:.,]){re.escape(key)}(?![\d:,]|\.\d)")
    for u in say:
        for sentence in _SENTENCE_END.split(u.spoken):
            said += speech_seconds(sentence)
            if names.search(_DIGIT_GROUPS.sub(" ", sentence)):
                return said
    return said


def _urgent(engine: Engine, moment: Moment) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Per language, the quickest way from the first word to a transfer that is always open, for a
    caller who presses each key as soon as a sentence names it (silence where nothing is said)."""
    menu = engine.menu
    targets = {name for name, n in menu.nodes.items()
               if isinstance(n, TransferNode) and menu.hours[n.hours].always_open}
    try:
        call, step = engine.start(moment.at)
    except Exception:  # noqa: BLE001 - reported by the exploration
        return {}
    order = itertools.count()
    queue: list[tuple[float, int, Call, Step, tuple[str, ...]]] = [(0.0, next(order), call, step, ())]
    done: set[tuple[str, str, int, tuple[Utterance, ...]]] = set()
    found: dict[str, tuple[float, tuple[str, ...]]] = {}
    while queue:
        seconds, _, call, step, tokens = heapq.heappop(queue)
        if isinstance(step.action, Transfer):
            if step.node in targets and call.lang not in found:
                found[call.lang] = (seconds + _step_seconds(step), tokens)
                if len(found) == len(menu.languages):
                    break
            continue
        place = (call.node, call.lang, call.retries, step.say)
        if not isinstance(step.action, Listen) or place in done or seconds > URGENT_SEARCH:
            continue
        done.add(place)
        waited = _step_seconds(step) + step.action.timeout
        choices: list[tuple[str, Input, float]] = [(k, Press(k), barge_seconds(step.say, k)) for k in KEYS]
        for token, event, heard in [*choices, ("wait", Silence(), waited)]:
            after = call.copy()
            try:
                then = engine.step(after, event, moment.at)
            except Exception:  # noqa: BLE001, S112 - the exploration reports it, with a call that shows it
                continue
            heapq.heappush(queue, (seconds + heard, next(order), after, then, (*tokens, token)))
    return found


# -- the check --------------------------------------------------------------------------------
Progress = Callable[[int, int, str], None]
"""progress(done, total, label): `done` of the `total` moments to explore are explored, and the
one labelled `label` comes next (called once more at the end, with done == total and no label)."""


def check(menu: Menu, progress: Progress | None = None) -> Report:
    """Explore `menu` at every moment; time the worst and the silent caller per language."""
    started = time.perf_counter()
    explorer = _Explorer(Engine(menu))
    when = moments(menu)
    languages = {code: LanguageReport(code) for code in menu.languages}
    report = Report(explorer.file, when, languages, None, [])
    explored = [moment for moment in when if moment.same_as is None]
    for done, moment in enumerate(explored):
        if progress is not None:
            progress(done, len(explored), moment.label)
        graph = explorer.explore(moment)
        report.states += len(graph.edges)
        report.steps += graph.steps
        report.played += graph.played
        for state in graph.edges:
            languages[state.lang].states += 1
        longest, exact = _longest(graph)
        for lang, (seconds, tokens, end) in longest.items():
            _keep_longest(languages[lang], "worst", Walk(seconds, _join(tokens), end, moment, exact))
        for lang, (seconds, tokens) in _urgent(explorer.engine, moment).items():
            _keep_longest(languages[lang], "urgent", Walk(seconds, _join(tokens), "24/7 transfer", moment))
        _silent_checks(explorer, graph, report)
    for entry in languages.values():
        if entry.urgent is not None and entry.urgent.seconds > URGENT_LIMIT:
            start = menu.menu.start
            explorer.report(("urgent", entry.lang), start, f"a caller in {entry.lang} needs {entry.urgent.seconds:.0f} "
                            f"s from the first word to the 24/7 transfer (limit {URGENT_LIMIT:.0f} s) "
                            f"[{entry.urgent.moment.label}; try: ivr sim --menu {explorer.file} --at "
                            f"{entry.urgent.moment.at.isoformat(timespec='minutes')} --script "
                            f"{shlex.quote(entry.urgent.script)}]", None)
    for name in menu.nodes:
        if name not in explorer.seen:
            explorer.report(("unreached", name), name, f"node {name} is never reached by any caller, in any "
                            "language, at any checked time (a transfer counts when it rings)", None)
    for code, count in explorer.spoken.items():
        languages[code].spoken = count
    report.problems = sorted(explorer.problems.values(), key=lambda p: (p.line, p.message))
    report.elapsed = time.perf_counter() - started
    if progress is not None:
        progress(len(explored), len(explored), "")
    return report


def _silent_checks(explorer: _Explorer, graph: _Graph, report: Report) -> None:
    """Dead ends, traps and slow endings; the silent callers' times."""
    if graph.start is None:
        return
    done, loops = _silent_outcomes(graph)
    dead = _dead_ends(graph)
    for state in sorted(dead, key=lambda s: (s.node, s.lang, s.retries)):
        explorer.report(("dead", state.node), state.node, f"node {state.node} ({state.lang}, after {state.retries} "
                        "failed tries) is a dead end: no input leads to a transfer or a hang-up", graph, state)
    for loop in loops:
        if not dead.intersection(loop):
            _report_trap(explorer, graph, loop)
    for state, outcome in done.items():
        if outcome.steps > SILENT_STEP_LIMIT:
            explorer.report(("slow", state.node), state.node, f"a silent caller at node {state.node} "
                            f"({state.lang}) needs {outcome.steps} inputs to be let go (limit "
                            f"{SILENT_STEP_LIMIT})", graph, state)
    never = _silent_walk(graph, done, None)
    if never and (report.never_pressing is None or never.seconds > report.never_pressing.seconds):
        report.never_pressing = never
    first = explorer.menu.nodes[graph.start.node]
    for lang, entry in report.languages.items():
        if isinstance(first, LanguageNode):  # the caller picks the language, then keeps silent
            key = next((k for k, code in first.choices.items() if code == lang), None)
            walk = _silent_walk(graph, done, key) if key else None
        else:
            walk = _silent_walk(graph, done, None) if graph.start.lang == lang else None
        if walk:
            _keep_longest(entry, "silent", walk)


def _report_trap(explorer: _Explorer, graph: _Graph, loop: list[State]) -> None:
    """One problem per loop, shown from the state of it a caller reaches with the fewest inputs."""
    entry = min(loop, key=lambda s: len(_script(graph, s)))
    around = loop[loop.index(entry):] + loop[:loop.index(entry)]
    nodes = " -> ".join([s.node for s in around] + [entry.node])
    tokens = " ".join(next(e.token for e in graph.edges[s] if e.token in ("wait", "busy")) for s in around)
    explorer.report(("trap", frozenset(s.node for s in loop)), entry.node,
                    f"a silent caller is never let go: {nodes} repeats forever ({tokens}, nobody answering)",
                    graph, entry, tokens)


def _silent_walk(graph: _Graph, done: dict[State, _Silent], first: str | None) -> Walk | None:
    """The call of a caller who presses `first` (if any) at the start and then keeps silent."""
    assert graph.start is not None
    seconds, state = graph.start_seconds, graph.start
    tokens: tuple[str, ...] = ()
    if first is not None:
        edge = next((e for e in graph.edges.get(graph.start, ()) if e.token == first), None)
        if edge is None:
            return None
        seconds, tokens = seconds + edge.seconds, (first,)
        if edge.target is None:
            return Walk(seconds, first, edge.end, graph.moment)
        state = edge.target
    if state not in done:
        return None
    rest = done[state]
    return Walk(seconds + rest.seconds, _join(tokens + rest.tokens), rest.end, graph.moment)


def _keep_longest(entry: LanguageReport, name: str, walk: Walk) -> None:
    current = getattr(entry, name)
    if current is None or walk.seconds > current.seconds:
        setattr(entry, name, walk)


def _join(tokens: tuple[str, ...]) -> str:
    return " ".join(t for t in tokens if t)


# -- output -------------------------------------------------------------------------------------
def _walk_text(walk: Walk | None, reached: bool = True) -> str:
    if walk is None:
        return "never ends (see the problems)" if reached else "-"
    bound = "" if walk.exact else "at least "
    return f"{bound}{walk.seconds:4.0f} s  {walk.moment.label}, {walk.end}: {walk.script or '(no input)'}"


def format_report(report: Report) -> str:
    """The report as people read it: the moments, each language, then the problems."""
    header = (f"{report.file}: {report.states} states, {report.steps} inputs ({report.played} played, the rest "
              f"known from an earlier moment or try) in {report.elapsed:.1f} s")
    lines = [header, "moments:"]
    width = max(len(m.label) for m in report.moments)
    for m in report.moments:
        same = f"  behaves as {m.same_as}" if m.same_as else ""
        lines.append(f"  {m.label:<{width}}  {m.at.isoformat(timespec='minutes')}{same}")
    for entry in report.languages.values():
        reached = entry.states > 0
        lines.append(f"{entry.lang}: {entry.states} states" + ("" if reached else " (no caller gets this language)"))
        lines.append(f"  worst case     {_walk_text(entry.worst, reached)}")
        lines.append(f"  silent caller  {_walk_text(entry.silent, reached)}")
        if entry.urgent is not None:
            lines.append(f"  lost card      {_walk_text(entry.urgent)} (from the first word; limit "
                         f"{URGENT_LIMIT:.0f} s)")
        if reached:
            lines.append(f"  by voice       {entry.spoken} phrases, key names and commands said, each compared "
                         "with its key")
    lines.append(f"never pressing a key: {_walk_text(report.never_pressing).strip()}")
    lines += [str(p) for p in report.problems]
    lines.append(f"{report.file}: " + (f"{len(report.problems)} problem(s)" if report.problems else "OK"))
    return "\n".join(lines)


def _walk_json(walk: Walk | None) -> dict[str, object] | None:
    if walk is None:
        return None
    return {"seconds": round(walk.seconds, 1), "exact": walk.exact, "script": walk.script, "end": walk.end,
            "moment": walk.moment.label, "at": walk.moment.at.isoformat(timespec="minutes")}


def report_json(report: Report) -> dict[str, object]:
    return {
        "file": report.file, "states": report.states, "steps": report.steps, "played": report.played,
        "elapsed": round(report.elapsed, 2),
        "moments": [{"label": m.label, "at": m.at.isoformat(timespec="minutes"), "same_as": m.same_as}
                    for m in report.moments],
        "languages": {code: {"states": e.states, "worst": _walk_json(e.worst), "silent": _walk_json(e.silent),
                             "lost_card": _walk_json(e.urgent), "spoken": e.spoken}
                      for code, e in report.languages.items()},
        "never_pressing": _walk_json(report.never_pressing),
        "problems": [str(p) for p in report.problems],
    }


