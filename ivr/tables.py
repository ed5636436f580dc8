"""The tables of the records database, as typed SQLAlchemy models (made by `ivr/migrations/`).

What is kept, and what is not, is written down for operators in the README ("Call
records"). In short: no phone number, no CallSid, no speech text. A call is known by a
keyed hash of its CallSid; its caller by the keyed hash the logs use, dropped as soon as
the call enters the points check, so no answer there can be tied to a number.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CallRecord(Base):
    """One call: written by every webhook of it (whichever worker answers), each adding what it
    knows; `ivr.records` merges them, so the order the workers' writes arrive in does not matter."""

    __tablename__ = "calls"
    key: Mapped[str] = mapped_column(String(24), primary_key=True)
    """A keyed hash of Twilio's CallSid."""
    started_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    """UTC, as every time here. None until the first webhook's write arrives."""
    last_at: Mapped[dt.datetime]
    caller: Mapped[str | None] = mapped_column(String(12))
    """The logs' keyed hash of the caller's number (repeat calls); None once the points check began."""
    lang: Mapped[str] = mapped_column(String(8))
    revision: Mapped[str] = mapped_column(String(80))
    """The menu revision the call is on (`ivr.live.Revision.id`)."""
    last_node: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str | None] = mapped_column(String(16))
    """How the menu ended the call: staff (a transfer answered), goodbye, retries, after_hours,
    fault; None while it goes on, or when the caller hung up (then `status` says the call ended)."""
    desk: Mapped[str | None] = mapped_column(String(80))
    """The last transfer node the call reached."""
    points_check: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str | None] = mapped_column(String(16))
    """Twilio's final CallStatus (completed, busy, failed, no-answer, canceled), from the status callback."""
    duration: Mapped[int | None] = mapped_column(Integer)
    """CallDuration, seconds, from the status callback."""
    ended_at: Mapped[dt.datetime | None]


class StepRecord(Base):
    """What happened at a node: the call entered it (`kind` "enter"), or the caller did something
    there (`kind` "input": `meant` is `ivr.engine.MEANINGS`, `via` key, speech, silence or dial)."""

    __tablename__ = "steps"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    call_key: Mapped[str] = mapped_column(String(24))
    at: Mapped[dt.datetime]
    n: Mapped[int] = mapped_column(Integer)
    """Order within one webhook (its rows share `at`)."""
    node: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(8))
    meant: Mapped[str | None] = mapped_column(String(16))
    key: Mapped[str | None] = mapped_column(String(8))
    via: Mapped[str | None] = mapped_column(String(8))
    detail: Mapped[str | None] = mapped_column(String(16))
    """For a transfer node entered: "transfer" or "closed" (outside its hours); for a dial
    outcome: Twilio's DialCallStatus (busy, no-answer, ...)."""
    points: Mapped[int | None] = mapped_column(Integer)
    """At the points-check result: the points the caller can apply for."""

    __table_args__ = (Index("ix_steps_call", "call_key", "at", "n"), Index("ix_steps_at", "at"))


class MenuRevisionRecord(Base):
    """A good menu revision, kept so any worker on any machine can finish a call on it."""

    __tablename__ = "menu_revisions"
    menu: Mapped[str] = mapped_column(String(200), primary_key=True)
    digest: Mapped[str] = mapped_column(String(8), primary_key=True)
    """The menu file's name (each line's menu has its own revisions)."""
    revision: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[dt.datetime]
    """When a worker first took it from the file: when it went live."""


class MenuPointerRecord(Base):
    """The newest good revision of each menu file, as the workers' `current` pointer."""

    __tablename__ = "menu_pointers"
    menu: Mapped[str] = mapped_column(String(200), primary_key=True)
    digest: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[dt.datetime]
