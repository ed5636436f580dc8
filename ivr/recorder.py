"""Write call records without ever making a caller wait for the database.

A webhook only appends its `Visit` or `Ending` to an in-memory queue (`Recorder.add`,
no lock, no I/O). A writer thread in each worker drains the queue every `interval`
seconds and writes it in one transaction. When the database is down, locked or full,
that batch is lost: counted, logged at most once a minute, and shown in `/health`; a
queue that fills while the writer cannot keep up loses the newest records the same way.
Calls never notice.
"""

from __future__ import annotations

import atexit
import collections
import datetime as dt
import logging
import os
import threading
import time
import weakref
from typing import Any, Union

from sqlalchemy import Connection, case, delete, func, or_

from .database import Database, shown
from .records import ENDING, MERGE, Ending, Visit, call_row, ending_row, merged, step_rows, utc
from .tables import CallRecord, StepRecord

log = logging.getLogger("ivr.records")
Item = Union[Visit, Ending]
COMPLAIN_EVERY = 60.0  # seconds between log lines about lost records
BATCH = 2000  # records written in one transaction


class Recorder:
    """The call records of one service. `background=False` writes in the caller's thread,
    a batch at a time and at `flush()` (`ivr records simulate`, tests): nothing is lost there."""

    def __init__(self, db: Database, *, capacity: int = 20000, interval: float = 1.0, background: bool = True) -> None:
        self.db = db
        self.capacity = capacity
        self.interval = interval
        self.background = background
        self.written = 0
        self.lost = 0
        self.last_error = ""
        self._queue: collections.deque[Item] = collections.deque()
        self._writing = 0  # the pid whose writer thread runs
        self._complained = 0.0
        self._lost_told = 0
        self._lock = threading.Lock()
        self._prepared: tuple[Any, Any] | None = None
        self._migrated = threading.Event()  # set by the writer once it tried

    def add(self, item: Item) -> None:
        """Keep `item` for the writer; never blocks, never raises."""
        if len(self._queue) >= self.capacity:
            self.lost += 1
            return
        self._queue.append(item)
        if not self.background:
            if len(self._queue) >= BATCH:
                self.flush()
        elif self._writing != os.getpid():
            self._start()

    def start(self, wait: float = 0.0) -> None:
        """Start this process's writer now rather than at the first record; it migrates the
        tables first, waited for up to `wait` seconds, so no webhook shares the worker with
        Alembic (`ivr.warm`). A database slower than that is left to the writer."""
        if self.background and self._writing != os.getpid():
            self._start()
            self._migrated.wait(wait)

    def flush(self) -> None:
        """Write everything queued so far (the writer's work, done now)."""
        while self._queue:
            self._write_batch()

    def health(self) -> dict[str, Any]:
        return {"database": self.db.kind, "written": self.written, "lost": self.lost, "queued": len(self._queue),
                "state": "failing" if self.last_error else "ok", **({"error": self.last_error} if self.last_error else {})}

    # -- the writer ---------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._writing == os.getpid():
                return
            self._queue = collections.deque(self._queue)  # a forked worker's own (the parent's may be mid-append)
            self._writing = os.getpid()
            threading.Thread(target=_write, args=(weakref.ref(self), self.interval), name="ivr-records-writer",
                             daemon=True).start()
            atexit.register(_last_flush, weakref.ref(self))  # a worker told to stop writes what it holds

    def _write_batch(self) -> None:
        queue, batch = self._queue, list[Item]()
        while queue and len(batch) < BATCH:
            batch.append(queue.popleft())
        if not batch:
            return
        try:
            self.db.migrate()
            calls, endings, steps = _rows(batch)
            statements = self._statements()
            with self.db.engine.begin() as connection:
                for statement, rows in zip(statements, (calls, endings)):
                    if rows:
                        connection.execute(statement, rows)
                if steps and self.db.kind == "postgresql":
                    _copy_steps(connection, steps)
                elif steps:
                    _insert_steps(connection, steps)
        except Exception as exc:  # noqa: BLE001 - whatever the database does, calls go on
            self.lost += len(batch)
            self._complain(exc)
            return
        self.written += len(batch)
        if self.last_error:
            log.warning("call records are written to %s again (%d lost while they could not be)",
                        shown(str(self.db.url)), self.lost)
            self.last_error = ""

    def _statements(self) -> tuple[Any, Any]:
        """The calls' and the endings' upserts, built once: building their CASEs and finding
        them in SQLAlchemy's cache cost more than writing a small batch."""
        if self._prepared is None:
            self._prepared = (_upsert_calls(self.db), _upsert_endings(self.db))
        return self._prepared

    def _complain(self, exc: Exception) -> None:
        self.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        now = time.monotonic()
        if now - self._complained >= COMPLAIN_EVERY:
            self._complained = now
            log.error("call records cannot be written to %s (%s); %d lost so far, calls are not affected",
                      shown(str(self.db.url)), self.last_error, self.lost)


def _write(recorder: weakref.ref[Recorder], interval: float) -> None:
    """The writer thread: migrate the tables, then drain the queue every `interval` seconds;
    ends with its recorder. A database that cannot be migrated now is tried again, and
    named, by the first batch."""
    live = recorder()
    if live is not None:
        try:
            live.db.migrate()
        except Exception:  # noqa: BLE001, S110 - the first batch's own migrate reports it
            pass
        live._migrated.set()
    del live
    while True:
        time.sleep(interval)
        live = recorder()
        if live is None:
            return
        try:
            live.flush()
        except Exception:  # the thread must outlive any bug
            log.exception("the call records writer failed")
        del live


def _last_flush(recorder: weakref.ref[Recorder]) -> None:
    live = recorder()
    if live is not None:
        live.flush()


def _copy_steps(connection: Connection, steps: list[dict[str, Any]]) -> None:
    """Steps on PostgreSQL by COPY, in the batch's transaction: a third of the CPU of one INSERT
    per row (what executemany sends), which kept recording under 0.9x of a webhook's rate."""
    columns = list(steps[0])
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY steps ({', '.join(columns)}) FROM STDIN") as copy:
        for row in steps:
            copy.write_row([row[c] for c in columns])


def _insert_steps(connection: Connection, steps: list[dict[str, Any]]) -> None:
    """Steps on SQLite by the driver's executemany, each value made by its column type's own bind
    processor (so stored exactly as SQLAlchemy stores it): SQLAlchemy's per-row parameter
    handling was most of the writer's cost."""
    columns = list(steps[0])
    table = StepRecord.__table__
    processors = [table.c[c].type.bind_processor(connection.dialect) for c in columns]
    rows = [tuple(p(row[c]) if p else row[c] for c, p in zip(columns, processors)) for row in steps]
    connection.exec_driver_sql(f"INSERT INTO steps ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                               rows)


def _rows(batch: list[Item]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The batch's rows: one per call (its visits merged: an upsert may touch a row once), one
    per ending, and every step."""
    calls: dict[str, dict[str, Any]] = {}
    endings: dict[str, dict[str, Any]] = {}
    steps: list[dict[str, Any]] = []
    for item in batch:
        if isinstance(item, Ending):
            endings[item.call] = ending_row(item)
            continue
        row = call_row(item)
        calls[item.call] = merged(calls[item.call], row) if item.call in calls else row
        steps.extend(step_rows(item))
    return list(calls.values()), list(endings.values()), steps


def _upsert_calls(db: Database) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE with records.MERGE's rules, in SQL."""
    stmt = db.insert(CallRecord)
    old, new = CallRecord.__table__.c, stmt.excluded
    newer = new.last_at >= old.last_at
    points = or_(old.points_check, new.points_check)
    rules: dict[str, Any] = {
        "first": lambda c: func.coalesce(old[c], new[c]),
        "max": lambda c: case((newer, new[c]), else_=old[c]),
        "latest": lambda c: case((newer, new[c]), else_=old[c]),
        "latest_known": lambda c: case((newer, func.coalesce(new[c], old[c])), else_=func.coalesce(old[c], new[c])),
        "any": lambda c: case((points, True), else_=False),
        "private": lambda c: case((points, None), else_=func.coalesce(old[c], new[c])),
    }
    return stmt.on_conflict_do_update(index_elements=["key"], set_={c: rules[r](c) for c, r in MERGE.items()})


def _upsert_endings(db: Database) -> Any:
    stmt = db.insert(CallRecord)
    return stmt.on_conflict_do_update(index_elements=["key"], set_={c: stmt.excluded[c] for c in ENDING})


def prune(db: Database, before: dt.datetime) -> tuple[int, int]:
    """Delete the calls that started, and the steps taken, before `before`: (calls, steps) deleted."""
    db.migrate()
    cutoff = utc(before)
    with db.engine.begin() as connection:
        steps = connection.execute(delete(StepRecord).where(StepRecord.at < cutoff)).rowcount
        calls = connection.execute(delete(CallRecord).where(CallRecord.last_at < cutoff,
                                                            or_(CallRecord.started_at.is_(None),
                                                                CallRecord.started_at < cutoff))).rowcount
    return calls, steps
