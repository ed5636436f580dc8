"""Simulated callers for `ivr records simulate`: a registration surge played through the real service.

Each simulated call goes through the protocol (`ivr.voice`) webhook by webhook, as Twilio
would send them, at its own simulated time, so its records are made exactly as a real
call's are. The mix is plausible rather than measured: arrivals follow a working-day
curve that peaks at the start of the window and fades; most callers speak Japanese;
some stay silent, press a wrong key, hang up part-way, answer the points check by
voice; desks are busier when more calls arrive. `Tally` counts what was played, so the
report on it can be checked against the simulation's own figures.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from .edges import offered_keys
from .engine import End, Listen, Press, Silence, Speak, Step, Transfer
from .menu import EligibilityNode, LanguageNode, QuestionNode
from .records import Sink
from .voice import TIME_HEADER, Voice
from .wire import Reply, Request, WireLine, voice_transport

LANGUAGES = {"ja": 0.86, "en": 0.05, "zh": 0.04, "ko": 0.02, "es": 0.015, "pt": 0.015}
HOURS = [0.1, 0.05, 0.05, 0.05, 0.1, 0.2, 0.4, 1.0, 3.0, 6.0, 9.0, 10.0, 7.0, 8.0, 9.0, 8.5, 7.0,
         5.5, 4.0, 2.5, 1.5, 0.8, 0.4, 0.2]
"""Relative calls per hour of the day (Japan time): mornings and early afternoons."""
MAX_TURNS = 30  # inputs a simulated caller gives before giving up for good


@dataclass
class Tally:
    """What the simulation played, counted as it went."""

    calls: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    days: Counter[dt.date] = field(default_factory=Counter)
    offered: Counter[str] = field(default_factory=Counter)
    """Transfers put through, by the desk's node."""
    answered: Counter[str] = field(default_factory=Counter)
    unanswered: Counter[str] = field(default_factory=Counter)
    hung_up: int = 0
    """Calls the caller ended while the menu waited for them."""
    points_results: int = 0
    """Times a caller heard a points-check result."""


def arrivals(calls: int, since: dt.datetime, until: dt.datetime, rng: random.Random) -> list[dt.datetime]:
    """`calls` start times in [since, until), by HOURS and a surge that fades over the window's days."""
    hours = max(1, math.ceil((until - since).total_seconds() / 3600))
    weights = []
    for h in range(hours):
        at = since + dt.timedelta(hours=h)
        day = h / 24
        weekend = 0.6 if at.weekday() >= 5 else 1.0
        weights.append(HOURS[at.hour] * weekend * (1 + 2 * math.exp(-day / 2.5)))
    chosen = rng.choices(range(hours), weights, k=calls)
    out = []
    for h in chosen:
        at = since + dt.timedelta(hours=h, seconds=rng.uniform(0, 3600))
        out.append(min(at, until - dt.timedelta(seconds=1)))
    return sorted(out)


def simulate(menu_path: Path, records: Sink, calls: int, since: dt.datetime, until: dt.datetime,
             seed: int = 1) -> Tally:
    """Play `calls` calls into `records` (times with a time zone; naive ones are the menu's)."""
    rng = random.Random(seed)
    clock = [since]
    voice = Voice.local(menu_path, lambda: clock[0], records)
    menu = voice.menu
    zone = ZoneInfo(menu.menu.timezone)
    since, until = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (since, until))
    starts = arrivals(calls, since, until, rng)
    load = Counter(t.replace(minute=0, second=0, microsecond=0) for t in starts)
    busiest = max(load.values(), default=1)
    transport = voice_transport(voice)

    def timed(request: Request) -> Reply:  # every webhook at the simulated call's own time
        return transport(Request(request.path, request.params, {TIME_HEADER: clock[0].isoformat()}))

    tally = Tally()
    langs = [code for code in LANGUAGES if code in menu.languages] or list(menu.languages)
    for start in starts:
        clock[0] = start
        busy = 0.1 + 0.6 * load[start.replace(minute=0, second=0, microsecond=0)] / busiest
        caller = _Caller(voice, WireLine(timed, menu, caller=f"+8190{rng.randrange(10**8):08d}"), rng, clock,
                         rng.choices(langs, [LANGUAGES.get(c, 0.01) for c in langs])[0], busy, tally)
        caller.play()
        tally.calls += 1
        tally.days[start.astimezone(zone).date()] += 1
    return tally


class _Caller:
    """One simulated resident: hears each prompt, then presses, speaks, waits or hangs up."""

    def __init__(self, voice: Voice, line: WireLine, rng: random.Random, clock: list[dt.datetime], wants: str,
                 busy: float, tally: Tally) -> None:
        self.voice, self.line, self.rng, self.clock = voice, line, rng, clock
        self.wants, self.busy, self.tally = wants, busy, tally
        self.started = clock[0]
        self.lang = voice.menu.menu.default_language
        self.results = {n.next for n in voice.menu.nodes.values() if isinstance(n, EligibilityNode)}
        """Where a call waits right after hearing a points-check result."""

    def play(self) -> None:
        step = self.line.start(None)
        for turn in range(MAX_TURNS):
            self._listen_to(step)
            if isinstance(step.action, End):
                break
            if isinstance(step.action, Transfer):
                step = self._transfer(step)
                continue
            node = self._node()
            if node is None or self.rng.random() < 0.03 + 0.015 * turn:
                self.tally.hung_up += 1
                break
            step, moved = self._answer(node, step)
            if moved and isinstance(step.action, Listen) and self._node() in self.results:
                self.tally.points_results += 1
        else:
            self.tally.hung_up += 1
        self.tally.languages[self.lang] += 1
        self.line.hang_up(int((self.clock[0] - self.started).total_seconds()))

    def _answer(self, node: str, step: Step) -> tuple[Step, bool]:
        """The caller's next input at `node`, and whether it is one that leads on (a choice or an answer)."""
        menu, rng, line = self.voice.menu, self.rng, self.line
        spec = menu.nodes[node]
        keys = offered_keys(menu, node) or []
        assert isinstance(step.action, Listen)
        roll = rng.random()
        if roll < 0.05 or not keys:
            self._wait(step.action.timeout)
            return line.send(Silence()), False
        self._wait(rng.uniform(1.5, 6))
        if roll < 0.08:
            return line.send(Press(next(k for k in "87" if k not in keys))), False
        if isinstance(spec, LanguageNode):
            key = next((k for k, code in spec.choices.items() if code == self.wants), keys[0])
            return line.send(Press(key)), True
        if isinstance(spec, QuestionNode):
            yes = rng.random() < 0.7
            if rng.random() < 0.35:  # many would rather say it
                if rng.random() < 0.1:
                    return line.send(Speak("えーと" if self.lang == "ja" else "hmm")), False
                lang = menu.languages[self.lang]
                return line.send(Speak(rng.choice(lang.yes if yes else lang.no))), True
            return line.send(Press("1" if yes else "2")), True
        weights = [1 / (i + 1) ** 0.6 for i in range(len(keys))]
        key = rng.choices(keys, weights)[0]
        said = getattr(spec, "phrases", {}).get(key, {}).get(self.lang)
        if said and rng.random() < 0.2:  # some say what they want instead
            return line.send(Speak(rng.choice(said))), True
        return line.send(Press(key)), True

    def _transfer(self, step: Step) -> Step:
        desk = self._node(transferring=True) or "?"
        self.tally.offered[desk] += 1
        rng = self.rng
        self._wait(rng.uniform(5, 25))
        if rng.random() < self.busy:
            self.tally.unanswered[desk] += 1
            return self.line.dialled("busy" if rng.random() < 0.7 else "no-answer")
        self.tally.answered[desk] += 1
        self._wait(rng.uniform(120, 600))
        return self.line.dialled("completed")

    def _listen_to(self, step: Step) -> None:
        """The caller hears the prompts: time passes by their length."""
        chars = sum(len(u.text) for u in step.say)
        self._wait(chars / (8 if self.lang in ("ja", "zh", "ko") else 15))

    def _node(self, transferring: bool = False) -> str | None:
        """Where the call is, from the state the service gave it (as any worker would read it)."""
        url = self.line.dial_action if transferring else self.line.action
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("s", [""])[0]
        saved = self.voice.codec.load(token, self.line.sid)
        if saved is None:
            return None
        self.lang = saved[0].lang
        return saved[0].node

    def _wait(self, seconds: float) -> None:
        self.clock[0] += dt.timedelta(seconds=seconds)
