"""The menu file as a typed, validated model.

The models hold data only; the behaviour lives in `engine`, `hours` and `eligibility`.
A menu is read from its file by `ivr.loader.load_menu`, which runs every check at once
and raises `MenuError` with each problem (file:line, what, how to fix).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, PrivateAttr, field_validator, model_validator

from .source import Source

DEFAULT_MENU = "menus/free_dial.yaml"


def default_menu_path() -> Path:
    """$IVR_MENU, else menus/free_dial.yaml here, else the one beside the package (a source checkout),
    else the copy installed with it (ivr/data/menus/, from a wheel: see pyproject.toml)."""
    if os.environ.get("IVR_MENU"):
        return Path(os.environ["IVR_MENU"])
    package = Path(__file__).resolve().parent
    candidates = (Path(DEFAULT_MENU), package.parent / DEFAULT_MENU)
    return next((path for path in candidates if path.exists()), package / "data" / DEFAULT_MENU)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(str):
    """A prompt's text in one language, as Twilio's <Say> and the transcript use it, plus an
    optional `reading` for our own synthesiser (espeak reads Japanese only from kana and
    Mandarin only from pinyin with tone numbers). It is a str, so it reads like one."""

    reading: str | None = None


def _text(value: object) -> Text:
    if isinstance(value, str):
        return Text(value)
    if isinstance(value, dict) and set(value) <= {"text", "reading"} and isinstance(value.get("text"), str):
        text = Text(value["text"])
        reading = value.get("reading")
        if reading is not None and not (isinstance(reading, str) and reading.strip()):
            raise ValueError("reading: must be text (the words as the synthesiser should read them)")
        text.reading = reading
        return text
    raise ValueError("write the text itself, or text: and reading: (e.g. text: 受付, reading: うけつけ)")


# A prompt: one text per language code. Phone numbers are written {tel:0120-95-0178}
# so every front end can read them digit by digit.
Prompt = dict[str, Annotated[Text, PlainValidator(_text)]]
KEYS = "0123456789*#"
"""Every key on a phone's keypad, in keypad order."""
Key = Annotated[str, Field(pattern=r"^[0-9*#]$")]


def _phrase(value: object) -> str:
    """A phrase as Twilio's hints and our matcher can take it, or why not."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError('write the words a caller says, e.g. "lost my card"')
    if "," in value or "、" in value:
        raise ValueError(f"{value!r} holds a comma: write each phrase as its own item (Twilio's hints are "
                         "a comma-separated list)")
    if len(value) > 100:
        raise ValueError(f"{value[:20]!r}... is longer than Twilio takes as a hint (100 characters)")
    if not any(ch.isalnum() for ch in value):
        raise ValueError(f"{value!r} has no letters or digits, so no caller's words can match it; write words")
    return value.strip()


Phrase = Annotated[str, PlainValidator(_phrase)]
"""Words a caller may say for a choice (quotes keep YAML from reading yes/no as true/false)."""
Phrases = dict[str, list[Phrase]]
"""A choice's phrases: a list per language code."""
NodeId = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Info(Model):
    name: str
    version: str
    start: NodeId
    main_menu: NodeId
    """Where the main-menu key leads."""
    operator: NodeId
    """Where the operator key leads, and where a caller who gave up is taken by default."""
    default_language: str
    timezone: str = "Asia/Tokyo"
    """Where the callers are: dates in answers (deadlines) are judged in this zone."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Tokyo") from None
    return value


class Language(Model):
    name: str
    say_language: str
    """Twilio <Say language="...">, e.g. ja-JP (Mandarin voices use cmn-CN)."""
    voice: str
    """Twilio <Say voice="...">, e.g. Polly.Mizuki."""
    speech: str
    """Twilio <Gather language="..."> speech-recognition code, e.g. ja-JP, cmn-Hans-CN."""
    yes: list[str] = Field(min_length=1)
    no: list[str] = Field(min_length=1)
    unsure: list[str] = Field(default_factory=list)
    """Answers that are neither ("I don't know"): the question is asked again."""
    date_format: str = "{year}-{month:02d}-{day:02d}"
    """How dates are spoken: {year} {month} {day} {month_name}."""
    month_names: list[str] = Field(default_factory=list)
    thousands: str = ","
    first_day: str | None = None
    """How {day} is said on the first of a month where that is an ordinal (pt: 1º de janeiro)."""
    date_reading: str | None = None
    """How dates are written in a `reading:` (kana, pinyin), when `date_format` has characters the
    synthesiser cannot read, e.g. {year}ねん{month}がつ{day}にち; default: `date_format`."""
    synth_voice: str | None = None
    """espeak-ng voice for our own recordings (`ivr prompts render`), e.g. gmw/en-US, jpx/ja."""
    audio: Literal["say", "play"] = "say"
    """How callers hear prompts: "say" (Twilio's voice) or "play" (our audio files, falling
    back to Twilio's voice for any prompt without a fresh file)."""
    key_names: dict[Key, list[Phrase]] = Field(default_factory=dict)
    """Keys said as words ("two", に, 二, "dos"): saying one alone chooses that key. Digits,
    * and # always do."""
    fillers: list[Phrase] = Field(default_factory=list)
    """Words around a key's name that change nothing ("number", "press", 番, を): "press two" and
    2番 are the key 2."""


class Settings(Model):
    timeout: int = Field(6, ge=1, le=60)
    """Seconds of silence before a prompt counts as unanswered."""
    retries: int = Field(2, ge=0, le=5)
    """Re-prompts after silence or a wrong key before the call is ended safely."""
    ring_timeout: int = Field(30, ge=5, le=600)
    """Seconds a transfer rings before it counts as unanswered."""


class Commands(Model):
    """The phrases of the global keys, heard at every node where the key works."""

    repeat: Phrases = Field(default_factory=dict)
    main_menu: Phrases = Field(default_factory=dict)
    operator: Phrases = Field(default_factory=dict)


class Speech(Model):
    """Choosing by voice: how sure recognition must be, and the commands heard everywhere."""

    confidence: float = Field(0.3, ge=0, le=1)
    """Twilio's Confidence below this is heard as unclear (the caller is asked again); a result
    without one (or with 0, which some speech models send for "not measured") is taken as heard."""
    commands: Commands = Field(default_factory=Commands)


class Keys(Model):
    repeat: Key | None = "*"
    main_menu: Key | None = "9"
    operator: Key | None = "0"


_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class Hours(Model):
    """An opening range such as "09:30-20:00", or "closed"."""

    opens: dt.time | None
    closes: dt.time | None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError('write hours as a quoted string "HH:MM-HH:MM" (e.g. "09:30-20:00") or "closed"')
        if value.strip().lower() == "closed":
            return {"opens": None, "closes": None}
        match = _RANGE.match(value.strip())
        if not match:
            raise ValueError(f'{value!r} is not "HH:MM-HH:MM" (e.g. "09:30-20:00") or "closed"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            opens, closes = dt.time(h1, m1), dt.time(h2, m2)
        except ValueError as exc:
            raise ValueError(f"{value!r}: {exc}; hours run 00-23, minutes 00-59") from None
        if closes <= opens:
            raise ValueError(f"{value!r} closes before it opens; write the earlier time first")
        return {"opens": opens, "closes": closes}


_DAY = r"(?:(\d{4})-)?(\d{2})-(\d{2})"
_DAYS = re.compile(rf"^{_DAY}(?:\.\.{_DAY})?$")


class Days(Model):
    """Days written "12-29..01-03" (every year; may run into the next year), "2026-05-02" (once)
    or "2026-08-13..2026-08-15" (once, a range)."""

    first: tuple[int, int, int] = Field(repr=False)
    """(year or 0 for every year, month, day)."""
    last: tuple[int, int, int] = Field(repr=False)
    text: str

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, dt.date):
            value = value.isoformat()
        if isinstance(value, (dict, Days)):
            return value
        shape = 'write "MM-DD" or "MM-DD..MM-DD" (every year), "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD" (once)'
        match = _DAYS.match(str(value).strip()) if isinstance(value, str) else None
        if not match:
            raise ValueError(f"{value!r}: {shape}")
        y1, m1, d1, y2, m2, d2 = match.groups()
        if m2 is None:
            y2, m2, d2 = y1, m1, d1
        if (y1 is None) != (y2 is None):
            raise ValueError(f"{value!r}: give a year on both ends or on neither; {shape}")
        first, last = (int(y1 or 0), int(m1), int(d1)), (int(y2 or 0), int(m2), int(d2))
        for y, m, d in (first, last):
            try:
                dt.date(y or 2024, m, d)  # 2024: a leap year, so 02-29 is a valid yearly day
            except ValueError as exc:
                raise ValueError(f"{value!r}: {exc}") from None
        if y1 is not None and last < first:
            raise ValueError(f"{value!r} ends before it begins; write the earlier day first")
        return {"first": first, "last": last, "text": str(value).strip()}

    @property
    def yearly(self) -> bool:
        return self.first[0] == 0

    def covers(self, day: dt.date) -> bool:
        if not self.yearly:
            return dt.date(*self.first) <= day <= dt.date(*self.last)
        md, first, last = (day.month, day.day), self.first[1:], self.last[1:]
        return first <= md <= last if first <= last else md >= first or md <= last


class Special(Model):
    """Dated hours that replace a calendar's usual ones: closure days or special hours."""

    days: Days
    hours: Hours
    """ "closed", or the day's hours, e.g. "10:00-15:00"."""
    note: str = ""
    """Why (for people reading the file, the graph and `ivr check`), e.g. year-end holidays."""


class Calendar(Model):
    timezone: str = "Asia/Tokyo"
    always_open: bool = False
    weekdays: Hours | None = None
    saturday: Hours | None = None
    sunday: Hours | None = None
    holidays: Hours | None = None
    """Hours on Japanese national holidays (from the jpholiday package)."""
    special: list[Special] = Field(default_factory=list)
    """Dated closures and special hours; a one-off day wins over a yearly one, else the first listed."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

    @model_validator(mode="after")
    def _complete(self) -> Calendar:
        if not self.always_open and self.weekdays is None:
            raise ValueError('give "weekdays" hours, or set always_open: true')
        return self


class Rule(Model):
    """One way to receive points: who (`when`), how many, and in which window."""

    id: str
    when: dict[str, bool]
    points: int = Field(0, ge=0)
    opens: dt.date | None = None
    closes: dt.date | None = None
    dates: dict[Annotated[str, Field(pattern=r"^[a-z_]+$")], dt.date] = Field(default_factory=dict)
    """Other dates its texts say, by name: `card_by: 2022-09-30` is said as {card_by}."""
    say: Prompt
    """Said while the window is open; may use {points}, {opens}, {closes} and its `dates`."""
    upcoming: Prompt | None = None
    """Said before `opens`."""
    closed: Prompt | None = None
    """Said after `closes`."""


class Eligibility(Model):
    rules: list[Rule] = Field(min_length=1)
    total: Prompt
    """Said first when the caller can receive points; {points} is the sum."""
    none: Prompt
    """Said first when the caller can receive nothing now."""
    bring: Prompt
    """What to have ready to apply; said when points are or will be available."""
    ends: dt.date | None = None
    """The last day of the whole programme: after it, every answer is `ended` alone."""
    ended: Prompt | None = None
    """Said after `ends`, whatever the answers; may use {ends}."""


class Announcement(Model):
    """A dated notice said at the start of every call, in the caller's language, once chosen."""

    id: NodeId
    starts: dt.date = Field(alias="from")
    until: dt.date
    """The last day it is said (in the menu's time zone)."""
    say: Prompt


class _Node(Model):
    say: Prompt = Field(default_factory=dict)


class _Listening(_Node):
    """A node that waits for the caller, so it has a timeout, retries and a way out."""

    timeout: int | None = Field(None, ge=1, le=60)
    retries: int | None = Field(None, ge=0, le=5)
    on_give_up: NodeId | None = None
    """Where to go after the last retry (default: the operator node; for a language node, `next`)."""
    global_keys: bool = True
    """Whether the main-menu and operator keys work here (the repeat key always does)."""


class MenuNode(_Listening):
    type: Literal["menu"]
    choices: dict[Key, NodeId] = Field(min_length=1)
    phrases: dict[Key, Phrases] = Field(default_factory=dict)
    """Per choice, per language, what a caller may say for it ("lost", なくした)."""
    priority: Key | None = None
    """The choice whose phrases win when another's are heard too: the lost card, so that "I lost
    my notification card" reaches the lost-card desk instead of being asked again."""


class LanguageNode(_Listening):
    type: Literal["language"]
    choices: dict[Key, str] = Field(min_length=1)
    phrases: dict[Key, Phrases] = Field(default_factory=dict)
    """Per choice, the language's name as callers of each language say it (English, 英語): all
    are heard here, as the caller's language is not known yet."""
    next: NodeId
    default: str
    """Language used if the caller chooses none."""
    global_keys: bool = False


class MessageNode(_Node):
    type: Literal["message"]
    next: NodeId


class QuestionNode(_Listening):
    type: Literal["question"]
    answer: str
    """Name under which the yes/no answer is kept for the eligibility rules."""
    yes: NodeId
    no: NodeId


class EligibilityNode(_Node):
    type: Literal["eligibility"]
    next: NodeId


class TransferNode(_Node):
    type: Literal["transfer"]
    to: str = Field(pattern=r"^(\+\d{6,15}|sip:\S+|client:\S+)$")
    hours: str
    """Name of a calendar under `hours:`."""
    closed: NodeId | None = None
    """Where to go outside the calendar's hours."""
    unanswered: NodeId
    """Where to go when nobody answers or the line is busy."""


class HangupNode(_Node):
    type: Literal["hangup"]


Node = Annotated[
    Union[MenuNode, LanguageNode, MessageNode, QuestionNode, EligibilityNode, TransferNode, HangupNode],
    Field(discriminator="type"),
]
LISTENING = (MenuNode, LanguageNode, QuestionNode)


class Menu(Model):
    menu: Info
    languages: dict[str, Language] = Field(min_length=1)
    settings: Settings = Field(default_factory=Settings)
    keys: Keys = Field(default_factory=Keys)
    speech: Speech = Field(default_factory=Speech)
    hours: dict[str, Calendar] = Field(default_factory=dict)
    prompts: dict[str, Prompt] = Field(default_factory=dict)
    """Prompts said by the engine itself: invalid_key, no_input, not_understood, restart, and
    press_or_say (optional: said after every menu's own words, that a caller may speak)."""
    eligibility: Eligibility | None = None
    announcements: list[Announcement] = Field(default_factory=list)
    """Said, when dated today, right after the language is chosen (or at the start without a choice)."""
    nodes: dict[NodeId, Node] = Field(min_length=1)

    _source: Source | None = PrivateAttr(default=None)

    @property
    def source(self) -> Source | None:
        """Where each field came from (for file:line), when loaded from a file."""
        return self._source

    def retries(self, node: _Listening) -> int:
        return self.settings.retries if node.retries is None else node.retries

    def timeout(self, node: _Listening) -> int:
        return self.settings.timeout if node.timeout is None else node.timeout


ENGINE_PROMPTS = ("invalid_key", "no_input", "not_understood", "restart")
PRESS_OR_SAY = "press_or_say"
