"""The menu as a state machine: one `transitions` machine per menu, shared by all calls.

A call is a small `Call` object; `Engine.step(call, input, now)` advances it by one
input (a key, a speech result, silence, hang-up, or the outcome of a transfer) and
returns a `Step`: what the caller hears and what happens next. The engine does no
I/O and knows nothing of Flask, Twilio or terminals; front ends translate.

The machine's transitions are the menu's edges (`ivr.edges`). It has no models
attached: each step fires the event directly on the call
(`Event.trigger(call)`), so nothing is registered per call and a step costs a few
dictionary look-ups whatever the size of the menu.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Union
from zoneinfo import ZoneInfo

from transitions import Machine

from . import eligibility
from .edges import edges, trigger_for_key
from .hearing import COMMANDS, Hearing, leading_answer, yes_or_no
from .hours import is_open
from .menu import (
    LISTENING,
    PRESS_OR_SAY,
    EligibilityNode,
    HangupNode,
    LanguageNode,
    Menu,
    MenuNode,
    MessageNode,
    QuestionNode,
    Text,
    TransferNode,
    _Listening,
)
from .speech import display, spoken

MAX_CHAIN = 64  # nodes entered in one step without waiting for the caller (lint forbids loops of them)
MEANINGS = ("key", "wrong_key", "silence", "unclear", "yes", "no", "repeat", "main_menu", "operator", "give_up",
            "answered", "unanswered", "hangup")
"""What an input can mean at a node (`Step.meant`): a choice, a retry of one kind, a global key, the
retries running out, a transfer's outcome, or the caller hanging up."""
_RETRY = {"no_input": "silence", "invalid_key": "wrong_key", "not_understood": "unclear"}


# -- inputs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Press:
    """A key the caller pressed (0-9, * or #)."""

    key: str


@dataclass(frozen=True)
class Speak:
    """What speech recognition heard, and how sure it was (Twilio's Confidence, 0-1; None: not said)."""

    text: str
    confidence: float | None = None


@dataclass(frozen=True)
class Silence:
    """The caller let the prompt time out."""


@dataclass(frozen=True)
class HangUp:
    """The caller hung up."""


@dataclass(frozen=True)
class DialOutcome:
    """How a transfer ended: answered by staff, or not (busy, no answer, failed)."""

    answered: bool


Input = Union[Press, Speak, Silence, HangUp, DialOutcome]


# -- outputs ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Utterance:
    text: str
    """As shown to staff: phone numbers as written."""
    spoken: str
    """As given to a voice: phone numbers digit by digit."""
    lang: str
    prompt: str
    """Id of the prompt it came from (the node name, an engine prompt's name, or an announcement's id)."""
    reading: str = field(default="", compare=False)
    """What our own synthesiser reads (the text's `reading:`, kana or pinyin, spoken), when it has one."""


@dataclass(frozen=True)
class Listen:
    """Wait for a key or speech (every listening node takes both)."""

    timeout: int
    lang: str
    hints: tuple[str, ...] = ()
    """What may be said here (the node's phrases, the commands, yes and no at a question)."""


@dataclass(frozen=True)
class Transfer:
    to: str
    ring_timeout: int


@dataclass(frozen=True)
class End:
    """Hang up."""


Action = Union[Listen, Transfer, End]


@dataclass(frozen=True)
class Step:
    say: tuple[Utterance, ...]
    action: Action
    node: str
    """Where the call is now (the node it waits at, transfers from or hung up at)."""
    entered: tuple[str, ...] = field(default=(), compare=False)
    """The nodes entered in this step, in order, `node` last; a transfer outside its hours is
    entered and left in one step. Not part of a step's identity: what the caller hears and
    what happens next do not depend on it (so TwiML made for one step serves its equals)."""
    meant: str = field(default="", compare=False)
    """What the caller's input meant at the node they were at (`MEANINGS`; "" for a call's
    first step): what call records count. Not part of a step's identity either."""
    heard_as: str = field(default="", compare=False)
    """The key the caller's words chose (a phrase's, a key's name, a command's key), so records
    count a spoken choice with its key; "" for keys pressed and for anything else."""


@dataclass
class Call:
    """Everything the engine knows about one call; small enough to travel in a signed URL."""

    node: str
    lang: str
    revision: str
    """The revision of the menu the call began on (`Engine.revision`)."""
    retries: int = 0
    answers: dict[str, bool] = field(default_factory=dict)
    ended: bool = False
    line: str = ""
    """The line the call came in on (`ivr.lines`: its menu file), "" for the service's own menu:
    where to look for `revision`. The protocol's, not the engine's: the engine never reads it."""

    def copy(self) -> Call:
        """The same call, to step apart from this one (its answers are its own)."""
        return Call(self.node, self.lang, self.revision, self.retries, dict(self.answers), self.ended, self.line)


class Engine:
    """Drives calls through one menu."""

    def __init__(self, menu: Menu, revision: str | None = None) -> None:
        self.menu = menu
        self.revision = revision or menu.menu.version
        """Names this exact menu; each call carries it so it can finish on the menu it began with."""
        self.machine = Machine(
            model=None,
            states=list(menu.nodes),
            transitions=[{"trigger": e.trigger, "source": e.source, "dest": e.dest} for e in edges(menu)],
            initial=menu.menu.start,
            auto_transitions=False,
            send_event=True,
            model_attribute="node",
        )
        self._explanation = lru_cache(maxsize=1024)(self._explain)
        self.hearing = Hearing(menu)
        keys = menu.keys
        self._commands = {key: command for key, command in
                          ((keys.repeat, "repeat"), (keys.main_menu, "main_menu"), (keys.operator, "operator")) if key}
        """Each global key's command."""

    # -- public API -------------------------------------------------------------------
    def start(self, now: dt.datetime, lang: str | None = None) -> tuple[Call, Step]:
        """Begin a call. With `lang`, a first language-choice node is skipped."""
        menu = self.menu
        call = Call(node=menu.menu.start, lang=menu.menu.default_language, revision=self.revision)
        first = menu.nodes[call.node]
        if lang is not None and isinstance(first, LanguageNode):
            call.lang = lang
            call.node = first.next
        notices = [] if isinstance(menu.nodes[call.node], LanguageNode) else self.announcements(call.lang, now)
        return call, self._arrive(call, now, [], notices=notices)

    def restart(self, now: dt.datetime, lang: str | None = None) -> tuple[Call, Step]:
        """A call whose state was lost: apologise and begin again at the main menu."""
        menu = self.menu
        code = lang if lang in menu.languages else menu.menu.default_language
        call = Call(node=menu.menu.main_menu, lang=code, revision=self.revision)
        return call, self._arrive(call, now, [self._engine_prompt(call, "restart")])

    def step(self, call: Call, event: Input, now: dt.datetime) -> Step:
        node = self.menu.nodes[call.node]
        if call.ended or isinstance(event, HangUp):
            call.ended = True
            return Step((), End(), call.node, meant="hangup")
        if isinstance(event, DialOutcome):
            if not isinstance(node, TransferNode) or event.answered:
                call.ended = True
                return Step((), End(), call.node, meant="answered")
            return self._fire(call, "unanswered", now, [], "unanswered")
        if not isinstance(node, LISTENING):  # input after a transfer or goodbye: nothing to do
            call.ended = True
            return Step((), End(), call.node, meant="hangup")
        if isinstance(event, Silence):
            return self._retry(call, node, "no_input", now)
        if isinstance(event, Press):
            return self._press(call, node, event.key, now)
        return self._speak(call, node, event, now)

    def prompt(self, call: Call, name: str | None = None) -> tuple[Utterance, ...]:
        """What node `name` (default: the current one) says to this caller."""
        name = name or call.node
        node = self.menu.nodes[name]
        if isinstance(node, LanguageNode):  # each line in its own language
            return tuple(self._utterance(code, name, text) for code, text in node.say.items())
        if not node.say:
            return ()
        return (self._utterance(call.lang, name, node.say[call.lang]),)

    def announcements(self, lang: str, now: dt.datetime) -> list[Utterance]:
        """The notices dated `now` (in the menu's time zone), in language `lang`. A call hears them
        right after the first words that follow the language choice (the free dial's: a lost card,
        press 2), so the most urgent choice is never delayed by them."""
        today = self._today(now)
        return [self._utterance(lang, a.id, a.say[lang]) for a in self.menu.announcements
                if a.starts <= today <= a.until]

    # -- internals --------------------------------------------------------------------
    @staticmethod
    def _utterance(lang: str, prompt: str, text: str) -> Utterance:
        return Engine._rendered(lang, prompt, text, text.reading if isinstance(text, Text) else None)

    @staticmethod
    @lru_cache(maxsize=8192)
    def _rendered(lang: str, prompt: str, text: str, reading: str | None) -> Utterance:
        """Prompts are few and fixed: render each once (the regexes were most of a step's cost)."""
        return Utterance(display(text), spoken(text), lang, prompt, spoken(reading) if reading else "")

    def _explain(self, node: str, lang: str, answers: tuple[tuple[str, bool], ...],
                 today: dt.date) -> tuple[Utterance, ...]:
        """The eligibility answer; cached per engine (`_explanation`), as it depends only on these
        and few callers differ in them (matching the rules and formatting the dates is a step's dearest work)."""
        assert self.menu.eligibility is not None  # lint guarantees it
        sentences = eligibility.explain(self.menu.eligibility, dict(answers), today, lang, self.menu.languages[lang])
        return tuple(self._utterance(lang, node, s) for s in sentences)

    def _today(self, now: dt.datetime) -> dt.date:
        return now.astimezone(ZoneInfo(self.menu.menu.timezone)).date()

    def _engine_prompt(self, call: Call, name: str) -> Utterance:
        return self._utterance(call.lang, name, self.menu.prompts[name][call.lang])

    def _press(self, call: Call, node: _Listening, key: str, now: dt.datetime) -> Step:
        command = self._commands.get(key)
        if command == "repeat" or (command and node.global_keys):
            return self._command(call, node, command, now)
        if isinstance(node, QuestionNode) and key in ("1", "2"):
            return self._answer(call, node, key == "1", now)
        if isinstance(node, LanguageNode) and key in node.choices:
            call.lang = node.choices[key]
        trigger = trigger_for_key(key)
        event = self.machine.events.get(trigger)
        if event is None or call.node not in event.transitions:
            return self._retry(call, node, "invalid_key", now)
        return self._fire(call, trigger, now, [], "key")

    def _command(self, call: Call, node: _Listening, command: str, now: dt.datetime) -> Step:
        """A global key's work (repeat, main_menu, operator), pressed or said."""
        if command == "repeat":
            return self._listen(call, node, list(self.prompt(call)), meant="repeat")
        return self._fire(call, command, now, [], command)

    def _speak(self, call: Call, node: _Listening, speech: Speak, now: dt.datetime) -> Step:
        """Words choose what their key would, or a command; at a question, a yes or a no too (one
        said first wins over a command after it). Unsure recognition, or words that fit no choice
        or more than one, are asked again."""
        floor = self.menu.speech.confidence
        if speech.confidence is not None and speech.confidence < floor:
            return self._retry(call, node, "not_understood", now)
        if isinstance(node, QuestionNode):  # "no, someone applied for me" is a no, not the operator
            first = leading_answer(speech.text, self.menu.languages[call.lang])
            if first is not None:
                return self._answer(call, node, first, now)
        chosen = self.hearing.understand(call.node, call.lang, speech.text)
        if chosen in COMMANDS:
            step = self._command(call, node, chosen, now)
            return replace(step, heard_as=getattr(self.menu.keys, chosen) or "")
        if chosen is not None:
            return replace(self._press(call, node, chosen, now), heard_as=chosen)
        if isinstance(node, QuestionNode):
            answer = yes_or_no(speech.text, self.menu.languages[call.lang])
            if answer is not None:
                return self._answer(call, node, answer, now)
        return self._retry(call, node, "not_understood", now)

    def _answer(self, call: Call, node: QuestionNode, yes: bool, now: dt.datetime) -> Step:
        call.answers[node.answer] = yes
        return self._fire(call, "yes" if yes else "no", now, [], "yes" if yes else "no")

    def _retry(self, call: Call, node: _Listening, reason: str, now: dt.datetime) -> Step:
        call.retries += 1
        if call.retries > self.menu.retries(node):
            if isinstance(node, LanguageNode):
                call.lang = node.default
            return self._fire(call, "give_up", now, [], "give_up")
        return self._listen(call, node, [self._engine_prompt(call, reason), *self.prompt(call)], meant=_RETRY[reason])

    def _listen(self, call: Call, node: _Listening, say: list[Utterance], entered: tuple[str, ...] = (),
                meant: str = "") -> Step:
        if isinstance(node, MenuNode) and PRESS_OR_SAY in self.menu.prompts:
            say.append(self._engine_prompt(call, PRESS_OR_SAY))
        listen = Listen(self.menu.timeout(node), call.lang, self.hearing.hints(call.node, call.lang))
        return Step(tuple(say), listen, call.node, entered, meant)

    def _fire(self, call: Call, trigger: str, now: dt.datetime, say: list[Utterance], meant: str) -> Step:
        chosen = isinstance(self.menu.nodes[call.node], LanguageNode)
        self.machine.events[trigger].trigger(call)
        starts = chosen and not isinstance(self.menu.nodes[call.node], LanguageNode)  # the call really starts here
        return self._arrive(call, now, say, meant, self.announcements(call.lang, now) if starts else [])

    def _arrive(self, call: Call, now: dt.datetime, say: list[Utterance], meant: str = "",
                notices: list[Utterance] | None = None) -> Step:
        """Enter call.node and keep going until the caller must answer or the call leaves us;
        `notices` (announcements) are said after the first node's words."""
        entered: list[str] = []
        for _ in range(MAX_CHAIN):
            call.retries = 0
            entered.append(call.node)
            node = self.menu.nodes[call.node]
            if isinstance(node, TransferNode):
                if not is_open(self.menu.hours[node.hours], now):
                    self.machine.events["closed"].trigger(call)
                    continue
                say.extend(self.prompt(call))
                say.extend(notices or ())
                return Step(tuple(say), Transfer(node.to, self.menu.settings.ring_timeout), call.node, tuple(entered),
                            meant)
            say.extend(self.prompt(call))
            say.extend(notices or ())
            notices = None
            if isinstance(node, HangupNode):
                call.ended = True
                return Step(tuple(say), End(), call.node, tuple(entered), meant)
            if isinstance(node, EligibilityNode):
                say.extend(self._explanation(call.node, call.lang, tuple(sorted(call.answers.items())),
                                             self._today(now)))
            if isinstance(node, (MessageNode, EligibilityNode)):
                self.machine.events["next"].trigger(call)
                continue
            return self._listen(call, node, say, tuple(entered), meant)
        raise RuntimeError(f"more than {MAX_CHAIN} nodes without input from {call.node}")
