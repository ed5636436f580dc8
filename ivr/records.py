"""What one webhook tells the call records, and how records of one call from several workers merge.

The protocol (`ivr.voice`) hands the recorder a `Visit` per webhook (the steps the engine
took, with what the caller did) and an `Ending` per status callback; nothing here does
I/O or imports a database driver, so a webhook pays for a few objects only. The writer
(`ivr.recorder`) turns them into rows in its own thread with `call_row`/`step_rows`,
merging rows of one call by `MERGE`: every worker writes what its webhook knows, in any
order, and the call's row comes out the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Union
from zoneinfo import ZoneInfo

from . import eligibility
from .engine import End, Step, Transfer
from .menu import EligibilityNode, Menu, QuestionNode, TransferNode


@dataclass(slots=True)
class Move:
    """One input and the engine's step for it (several in one webhook when keys were typed ahead)."""

    node: str | None
    """Where the caller was; None for a call's first step."""
    via: str | None
    """key, speech, silence or dial; None for a call's first step."""
    key: str | None
    step: Step
    detail: str | None = None
    """A transfer's outcome as Twilio gave it (DialCallStatus)."""


@dataclass(slots=True)
class Visit:
    """What one webhook of a call did."""

    call: str
    """The call's key (a keyed hash of its CallSid)."""
    caller: str | None
    at: dt.datetime
    lang: str
    answers: dict[str, bool]
    revision: str
    menu: Menu
    moves: list[Move]
    start: bool = False
    fault: bool = False
    """The call was ended after too many faults (the apology's hang-up)."""


@dataclass(slots=True)
class Ending:
    """The status callback: how the call ended for Twilio."""

    call: str
    at: dt.datetime
    status: str
    duration: int | None


class Sink(Protocol):
    """Where the protocol hands records (`ivr.recorder.Recorder`): must never block or raise."""

    def add(self, item: Union[Visit, Ending]) -> None: ...


def utc(when: dt.datetime) -> dt.datetime:
    """Times are kept as naive UTC: the same on SQLite (text) and PostgreSQL."""
    return when.astimezone(dt.timezone.utc).replace(tzinfo=None)


def call_row(visit: Visit) -> dict[str, Any]:
    """The call's row as this webhook knows it."""
    menu = visit.menu
    last = visit.moves[-1].step
    entered = [name for move in visit.moves for name in move.step.entered]
    outcome, desk = None, None
    for move in visit.moves:
        step = move.step
        if step.meant == "answered":
            outcome = "staff"
        elif isinstance(step.action, End) and step.meant not in ("hangup", "answered"):
            outcome = "retries" if any(m.step.meant == "give_up" for m in visit.moves) else "goodbye"
        if isinstance(step.action, Transfer):
            desk = step.node
    if outcome == "goodbye" and any(_closed(menu, m.step, name) for m in visit.moves for name in m.step.entered):
        outcome = "after_hours"
    if visit.fault:
        outcome = "fault"
    points = any(isinstance(menu.nodes[name], (QuestionNode, EligibilityNode)) for name in entered)
    at = utc(visit.at)
    return {"key": visit.call, "started_at": at if visit.start else None, "last_at": at,
            "caller": None if points else visit.caller, "lang": visit.lang, "revision": visit.revision,
            "last_node": last.node, "outcome": outcome, "desk": desk, "points_check": points}


def step_rows(visit: Visit) -> list[dict[str, Any]]:
    """The steps' rows: the caller's input at a node, then each node it led into."""
    menu = visit.menu
    blank = {"call_key": visit.call, "at": utc(visit.at), "n": 0, "node": "", "kind": "", "meant": None, "key": None,
             "via": None, "detail": None, "points": None}
    rows: list[dict[str, Any]] = []

    def row(node: str, kind: str, **extra: Any) -> None:
        rows.append({**blank, "n": len(rows), "node": node, "kind": kind, **extra})

    for move in visit.moves:
        step = move.step
        if move.node is not None:
            row(move.node, "input", meant=step.meant or None, key=move.key, via=move.via, detail=move.detail)
        for name in step.entered:
            node = menu.nodes[name]
            if isinstance(node, TransferNode):
                row(name, "enter", detail="closed" if _closed(menu, step, name) else "transfer")
            elif isinstance(node, EligibilityNode) and menu.eligibility is not None:
                today = visit.at.astimezone(ZoneInfo(menu.menu.timezone)).date()
                row(name, "enter", points=eligibility.points(menu.eligibility, visit.answers, today))
            else:
                row(name, "enter")
    return rows


def _closed(menu: Menu, step: Step, name: str) -> bool:
    """A transfer node entered and left in the same step: its desk was closed."""
    return isinstance(menu.nodes[name], TransferNode) and not (name == step.node and isinstance(step.action, Transfer))


EPOCH = dt.datetime(1970, 1, 1)


def ending_row(ending: Ending) -> dict[str, Any]:
    """The status callback's part of the call's row. Its `last_at` is the epoch, as it knows
    nothing of the call's language or nodes: a webhook's row, even one written after it, wins
    those (and `ended_at` tells when the call ended)."""
    return {"key": ending.call, "last_at": EPOCH, "lang": "", "revision": "", "last_node": "",
            "status": ending.status[:16] or None, "duration": ending.duration, "ended_at": utc(ending.at)}


# -- merging ------------------------------------------------------------------------------
Rule = str
MERGE: dict[str, Rule] = {
    "started_at": "first",      # only a call's first webhook knows it
    "last_at": "max",
    "lang": "latest", "revision": "latest", "last_node": "latest",
    "outcome": "latest_known", "desk": "latest_known",
    "points_check": "any",
    "caller": "private",        # kept until the call enters the points check, then dropped for good
}
"""How two rows of one call combine, column by column, whichever arrives first."""
ENDING = ("status", "duration", "ended_at")
"""What the status callback adds: written over what was there (Twilio sends it once)."""


def merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Two rows of one call as one, by MERGE (what the database's upsert does, in Python, for
    rows of one call in one batch)."""
    newer = new["last_at"] >= old["last_at"]
    points = bool(old["points_check"] or new["points_check"])
    row = old.copy()
    for column, rule in MERGE.items():
        row[column] = _PICK[rule](old[column], new[column], newer, points)
    return row


def _known(a: Any, b: Any) -> Any:
    return a if a is not None else b


_PICK: dict[Rule, Callable[[Any, Any, bool, bool], Any]] = {  # (old, new, new is newer, points check entered)
    "first": lambda a, b, newer, points: _known(a, b),
    "max": lambda a, b, newer, points: max(a, b),
    "latest": lambda a, b, newer, points: b if newer else a,
    "latest_known": lambda a, b, newer, points: _known(b, a) if newer else _known(a, b),
    "any": lambda a, b, newer, points: bool(a or b),
    "private": lambda a, b, newer, points: None if points else _known(a, b),
}
"""MERGE's rules, made once (a batch merges a row per webhook of a call)."""
