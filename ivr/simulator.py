"""The terminal simulator: plays a call through a `Line` and reports what happens as events.

A Line is anything that can start a call and take the caller's inputs, returning a
`Step`: `EngineLine` drives the engine directly; the web module adds one that goes
through the TwiML service. Scripts and the interactive prompt feed the same loop,
so what staff try is exactly what callers get.

Script tokens: keys (`1`, `25` for two keys, `*`, `#`), `wait` (silence), `say:TEXT`
(speech; quote it if it has spaces: `"say:not yet"`), `hangup`, and after a transfer
`busy` (nobody answers); otherwise staff answer a transfer and the call ends there.
Typed input (`interactive`) is stricter at a transfer: Enter is staff answering, and
keys are refused rather than taken as an answer.
"""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Protocol, Sequence, Union
from zoneinfo import ZoneInfo

from .describe import standing
from .engine import Call, DialOutcome, End, Engine, HangUp, Input, Listen, Press, Silence, Speak, Step, Transfer
from .errors import ScriptError
from .menu import KEYS

Event = dict[str, object]


@dataclass(frozen=True)
class Busy:
    """Script token: the transfer is not answered."""


Token = Union[Input, Busy]


def parse_script(text: str) -> list[Token]:
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ScriptError(f"cannot read the script: {exc}; close the quotes around say:...") from None
    tokens: list[Token] = []
    for position, word in enumerate(words, 1):
        lowered = word.lower()
        if lowered == "wait":
            tokens.append(Silence())
        elif lowered == "hangup":
            tokens.append(HangUp())
        elif lowered == "busy":
            tokens.append(Busy())
        elif lowered.startswith("say:") and word[4:].strip():
            tokens.append(Speak(word[4:].strip()))
        elif word and all(key in KEYS for key in word):
            tokens.extend(Press(k) for k in word)
        else:
            raise ScriptError(f"script token {position} {word!r} is not understood; use keys (0-9 * #), wait, "
                              'say:TEXT (quote it if it has spaces: "say:not yet"), busy or hangup')
    return tokens


def parse_time(text: str | None, zone: str) -> dt.datetime:
    """`--at`: an ISO date-time, in the menu's time zone (taken as written there when it has no
    offset); None is now."""
    if text is None:
        return dt.datetime.now(ZoneInfo(zone))
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ScriptError(f"{text!r} is not a date and time; write e.g. 2026-12-07T10:00 (in the menu's "
                          "time zone) or 2026-12-07T10:00+09:00") from None
    return when.astimezone(ZoneInfo(zone)) if when.tzinfo else when.replace(tzinfo=ZoneInfo(zone))


class Line(Protocol):
    """One call in progress, however it is carried."""

    def start(self, lang: str | None) -> Step: ...

    def send(self, event: Input) -> Step: ...


class EngineLine:
    """A call driven straight through the engine, at a fixed moment."""

    def __init__(self, engine: Engine, at: dt.datetime) -> None:
        self.engine = engine
        self.at = at
        self.call: Call | None = None

    def start(self, lang: str | None) -> Step:
        self.call, step = self.engine.start(self.at, lang)
        return step

    def send(self, event: Input) -> Step:
        assert self.call is not None, "start() first"
        return self.engine.step(self.call, event, self.at)


def step_events(step: Step) -> list[Event]:
    """What the caller hears in `step`, then what the call does next."""
    events: list[Event] = []
    for u in step.say:
        event: Event = {"type": "say", "text": u.text, "spoken": u.spoken, "lang": u.lang, "prompt": u.prompt}
        if u.reading:
            event["reading"] = u.reading
        events.append(event)
    return events + [action_event(step)]


def action_event(step: Step) -> Event:
    """What the call does after `step`: a listen, transfer or hangup event (see `ivr.describe`)."""
    action = step.action
    if isinstance(action, Listen):
        return {"type": "listen", "node": step.node, "timeout": action.timeout, "lang": action.lang,
                "hints": list(action.hints)}
    if isinstance(action, Transfer):
        return {"type": "transfer", "node": step.node, "to": action.to}
    return {"type": "hangup", "node": step.node}


def input_event(token: Token) -> Event:
    if isinstance(token, Press):
        return {"type": "input", "kind": "key", "value": token.key}
    if isinstance(token, Speak):
        return {"type": "input", "kind": "speech", "value": token.text}
    if isinstance(token, Silence):
        return {"type": "input", "kind": "silence"}
    if isinstance(token, Busy):
        return {"type": "input", "kind": "busy"}
    return {"type": "input", "kind": "hangup"}


def play(line: Line, tokens: Iterable[Token], lang: str | None = None) -> Iterator[Event]:
    """Play a call: start it, feed `tokens` one by one, yield every event.

    The call ends at a hang-up, at a transfer that staff answer (any token but `busy`,
    or the end of the script), or, if the script runs out while the menu is listening,
    with the caller hanging up. Typed input (`interactive`) is held to what a person at
    the prompt means: at a transfer only Enter (staff answer), busy and q count, and keys
    typed ahead of a transfer or of the end of the call are dropped, with a note.
    """
    typed = tokens if isinstance(tokens, Typed) else None
    step = line.start(lang)
    yield from step_events(step)
    if isinstance(step.action, End):
        return
    for position, token in enumerate(tokens):
        refused = typed.refuse(step, token) if typed is not None else None
        if refused:
            yield {"type": "note", "text": refused}
            continue
        if isinstance(step.action, Transfer) and isinstance(token, Busy):
            yield input_event(token)
            step = line.send(DialOutcome(answered=False))
        elif isinstance(step.action, Transfer) and not (typed is not None and isinstance(token, HangUp)):
            yield from _unused(tokens, position)  # staff answered: the call is theirs now
            return
        elif isinstance(token, Busy):
            raise ScriptError(f"busy only follows a transfer, but {standing(action_event(step))}")
        else:
            yield input_event(token)
            step = line.send(token)
        yield from step_events(step)
        if typed is not None and not isinstance(step.action, Listen):
            yield from typed.drop_ahead(step)
        if isinstance(step.action, End):  # stop before reading more: typed input would wait for a line
            yield from _unused(tokens, position + 1)
            return
    if isinstance(step.action, Listen):
        yield input_event(HangUp())
        yield from step_events(line.send(HangUp()))


def _unused(tokens: Iterable[Token], used: int) -> Iterator[Event]:
    if isinstance(tokens, Sequence) and len(tokens) > used:
        yield {"type": "note", "text": f"the call ended; {len(tokens) - used} script token(s) left unused"}


class Typed:
    """Tokens typed at a prompt, a line at a time: keys (several on a line are sent one by one),
    Enter alone for silence, words for speech, busy, and q to hang up (end of input too)."""

    def __init__(self, read: Callable[[str], str | None]) -> None:
        self.read = read
        self.line = ""
        self.ahead: list[Token] = []
        """What is left of the line being sent."""

    def __iter__(self) -> Iterator[Token]:
        while True:
            if not self.ahead:
                line = self.read("> ")
                if line is None:
                    yield HangUp()
                    return
                self.line, self.ahead = line.strip(), _typed_tokens(line)
            token = self.ahead.pop(0)
            yield token
            if isinstance(token, HangUp):
                return

    def refuse(self, step: Step, token: Token) -> str | None:
        """Why `token` is not sent where the call stands, if it is not (the rest of its line goes too)."""
        if isinstance(step.action, Transfer) and not isinstance(token, (Silence, Busy, HangUp)):
            self.ahead = []
            return (f"{self.line!r} was not sent: keys and speech do not reach a transfer; press Enter (staff "
                    "answer), type busy (nobody answers) or q (hang up)")
        if isinstance(step.action, Listen) and isinstance(token, Busy):
            self.ahead = []
            return f"busy was not sent: it only follows a transfer, and {standing(action_event(step))}"
        return None

    def drop_ahead(self, step: Step) -> Iterator[Event]:
        """Keys typed on the same line past a transfer or the end of the call are not spent there."""
        if self.ahead:
            keys = "".join(t.key for t in self.ahead if isinstance(t, Press))
            self.ahead = []
            where = "the call is being transferred" if isinstance(step.action, Transfer) else "the call has ended"
            yield {"type": "note", "text": f"{keys!r} typed ahead was not sent: {where}"}


def _typed_tokens(line: str) -> list[Token]:
    text = line.strip()
    if not text:
        return [Silence()]
    if text.lower() in ("q", "quit", "hangup"):
        return [HangUp()]
    if text.lower() == "busy":
        return [Busy()]
    if all(key in KEYS for key in text.replace(" ", "")):
        return [Press(k) for k in text.replace(" ", "")]
    return [Speak(text)]


def interactive(read: Callable[[str], str | None]) -> Typed:
    """Tokens typed at a prompt (`read` shows its argument and returns a line, None at the end)."""
    return Typed(read)
