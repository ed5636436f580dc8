"""`ivr report`: what callers did, from the call records, as tables an operator reads or downloads.

Every figure is a `Table` (a title, columns, rows), so the terminal, CSV, JSON and the
dashboard show the same numbers. Counting happens in the database (GROUP BY) where it
can; times are bucketed in Python, in the menu's time zone, so SQLite and PostgreSQL
give the same answer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Select, and_, func, select

from .database import Database
from .menu import EligibilityNode, Menu, QuestionNode, TransferNode
from .records import utc
from .tables import CallRecord, MenuRevisionRecord, StepRecord

FORMATS = ("table", "csv", "json")


@dataclass
class Table:
    name: str
    """Its id (`ivr report --section NAME`, the CSV's `section` column)."""
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Report:
    since: dt.datetime
    until: dt.datetime
    tables: list[Table]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def report(db: Database, menu: Menu, since: dt.datetime, until: dt.datetime) -> Report:
    """Every table, for calls that started in [since, until) (aware times)."""
    db.migrate()
    zone = ZoneInfo(menu.menu.timezone)
    window = and_(CallRecord.started_at >= utc(since), CallRecord.started_at < utc(until))
    with db.engine.connect() as conn:
        calls = conn.execute(select(CallRecord.started_at, CallRecord.lang, CallRecord.outcome, CallRecord.status,
                                    CallRecord.last_node, CallRecord.revision).where(window)).all()

        def steps(*columns: Any) -> Select[Any]:
            return select(*columns).join(CallRecord, CallRecord.key == StepRecord.call_key).where(window)

        entered: dict[str, int] = dict(conn.execute(steps(StepRecord.node, func.count()).where(StepRecord.kind == "enter")
                                    .group_by(StepRecord.node)).all())
        inputs = conn.execute(steps(StepRecord.node, StepRecord.meant, StepRecord.key, StepRecord.via,
                                    StepRecord.detail, func.count())
                              .where(StepRecord.kind == "input")
                              .group_by(StepRecord.node, StepRecord.meant, StepRecord.key, StepRecord.via,
                                        StepRecord.detail)).all()
        previous = func.lag(StepRecord.at, type_=DateTime()).over(partition_by=StepRecord.call_key, order_by=(StepRecord.at, StepRecord.n))
        timed = steps(StepRecord.node, StepRecord.kind, StepRecord.at, previous.label("before")).subquery()
        waits = conn.execute(select(timed.c.node, timed.c.at, timed.c.before)
                             .where(timed.c.kind == "input", timed.c.before.is_not(None))).all()
        closed = conn.execute(steps(func.count(func.distinct(StepRecord.call_key)))
                              .where(StepRecord.kind == "enter", StepRecord.detail == "closed")).scalar_one()
        desks = conn.execute(steps(StepRecord.node, StepRecord.at, CallRecord.started_at)
                             .where(StepRecord.kind == "enter", StepRecord.detail == "transfer")).all()
        points = conn.execute(steps(StepRecord.points, func.count())
                              .where(StepRecord.kind == "enter", StepRecord.points.is_not(None))
                              .group_by(StepRecord.points)).all()
        started_check = _first_question(menu)
        check_calls = conn.execute(steps(func.count(func.distinct(StepRecord.call_key)))
                                   .where(StepRecord.kind == "enter", StepRecord.node == started_check)).scalar_one() \
            if started_check else 0
        finished_calls = conn.execute(steps(func.count(func.distinct(StepRecord.call_key)))
                                      .where(StepRecord.kind == "enter", StepRecord.points.is_not(None))).scalar_one()
        saved = dict(conn.execute(select(MenuRevisionRecord.revision, MenuRevisionRecord.saved_at)).all())

    local: list[tuple[dt.datetime, str]] = [(_local(c.started_at, zone), c.lang) for c in calls]
    langs = [code for code in menu.languages if any(c[1] == code for c in calls)] + sorted(
        {c[1] for c in calls} - set(menu.languages))
    tables = [
        _summary(calls, closed),
        _by_time("days", "Calls per day, by language", [(w.date().isoformat(), lang) for w, lang in local], langs),
        _by_time("hours", "Calls per hour, by language",
                 [(w.strftime("%Y-%m-%d %H:00"), lang) for w, lang in local], langs),
        _main_menu(menu, inputs),
        _funnel(menu, entered, inputs, calls, waits),
        _transfers(menu, inputs, desks),
        _points(menu, check_calls, finished_calls, points, inputs),
        _revisions(calls, saved, zone),
    ]
    return Report(since, until, tables)


def _first_question(menu: Menu) -> str | None:
    return next((name for name, node in menu.nodes.items() if isinstance(node, QuestionNode)), None)


def _summary(calls: Sequence[Any], closed: int) -> Table:
    outcomes = Counter(_ending(outcome, status) for _, _, outcome, status, *_ in calls)
    rows = [["calls", len(calls)], ["reached a desk outside its hours", closed]]
    names = {"staff": "answered by staff", "goodbye": "ended by the menu", "retries": "ended after too many retries",
             "after_hours": "ended after hours", "fault": "ended after faults", "hung_up": "caller hung up",
             "in_progress": "in progress (no end yet)"}
    rows += [[label, outcomes[key]] for key, label in names.items()]
    return Table("summary", "Calls", ["what", "calls"], rows)


def _ending(outcome: str | None, status: str | None) -> str:
    """How a call ended: the menu's outcome, else hung up (Twilio says it is over), else still going."""
    return outcome or ("hung_up" if status else "in_progress")


def _by_time(name: str, title: str, buckets: list[tuple[str, str]], langs: list[str]) -> Table:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for bucket, lang in buckets:
        counts[bucket][lang] += 1
    rows = [[bucket, sum(c.values()), *(c[lang] for lang in langs)] for bucket, c in sorted(counts.items())]
    return Table(name, title, [name[:-1], "calls", *langs], rows)


def _main_menu(menu: Menu, inputs: Sequence[Any]) -> Table:
    main = menu.menu.main_menu
    node = menu.nodes[main]
    choices = getattr(node, "choices", {})
    counts: Counter[str] = Counter()
    for where, meant, key, _via, _detail, n in inputs:
        if where == main and meant in ("key", "operator", "main_menu"):
            counts[key] += n
    total = sum(counts.values()) or 1
    rows = [[key, choices.get(key, _global(menu, key)), n, round(100 * n / total, 1)] for key, n in counts.most_common()]
    return Table("main_menu", f"Main menu ({main}) choices", ["key", "leads to", "calls", "%"], rows)


def _global(menu: Menu, key: str) -> str:
    keys = menu.keys
    return {keys.operator: "operator", keys.main_menu: "main menu", keys.repeat: "repeat"}.get(key, "?")


def _funnel(menu: Menu, entered: dict[str, int], inputs: Sequence[Any], calls: Sequence[Any],
            waits: Sequence[Any]) -> Table:
    """Node by node: who came, how they left, where they gave up, and how long callers took
    there (from the prompt to their key, speech or silence, prompt included)."""
    hung = Counter(last for _, _, outcome, status, last, _ in calls if _ending(outcome, status) == "hung_up")
    left: dict[str, Counter[str]] = defaultdict(Counter)
    for node, meant, key, _via, _detail, n in inputs:
        left[node][f"key {key}" if meant in ("key", "yes", "no") and key else meant or "?"] += n
    took: dict[str, list[float]] = defaultdict(list)
    for node, at, before in waits:
        took[node].append((at - before).total_seconds())
    rows = []
    for name in menu.nodes:
        if not entered.get(name) and not left.get(name):
            continue
        out = left[name]
        keys = ", ".join(f"{k.removeprefix('key ')}: {n}" for k, n in sorted(out.items()) if k.startswith("key "))
        speech = out["yes"] + out["no"]
        rows.append([name, entered.get(name, 0), keys, speech, out["silence"], out["wrong_key"], out["unclear"],
                     out["repeat"], out["give_up"], hung[name], _percentile(sorted(took[name]), 50)])
    return Table("funnel", "Node by node: entered, left by each key, retries, hung up there, seconds taken",
                 ["node", "entered", "keys", "speech", "silence", "wrong key", "unclear", "repeat", "gave up",
                  "hung up", "median s"], rows)


def _transfers(menu: Menu, inputs: Sequence[Any], desks: Sequence[Any]) -> Table:
    outcome: dict[str, Counter[str]] = defaultdict(Counter)
    for node, meant, _key, via, detail, n in inputs:
        if via == "dial":
            outcome[node]["answered" if meant == "answered" else (detail or "failed")] += n
    waits: dict[str, list[float]] = defaultdict(list)
    for node, at, started in desks:
        waits[node].append((at - started).total_seconds())
    rows = []
    for name, node in menu.nodes.items():
        if not isinstance(node, TransferNode) or name not in waits and not outcome.get(name):
            continue
        got, times = outcome[name], sorted(waits[name])
        other = sum(n for k, n in got.items() if k not in ("answered", "busy", "no-answer"))
        rows.append([name, len(times), got["answered"], got["busy"], got["no-answer"], other,
                     _percentile(times, 50), _percentile(times, 90)])
    return Table("transfers", "Transfers per desk (seconds from the call's start to the transfer)",
                 ["desk", "offered", "answered", "busy", "no answer", "other", "median s", "p90 s"], rows)


def _percentile(values: list[float], p: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[p - 1], 1)


def _points(menu: Menu, started: int, finished: int, points: Sequence[Any], inputs: Sequence[Any]) -> Table:
    if not any(isinstance(n, EligibilityNode) for n in menu.nodes.values()):  # a menu with no points check
        return Table("points", "The points check", ["what", "count"], [])
    questions = {name for name, node in menu.nodes.items() if isinstance(node, QuestionNode)}
    by: Counter[str] = Counter()
    for node, meant, _key, via, _detail, n in inputs:
        if node in questions:
            by[f"answers by {'voice' if via == 'speech' else via}" if meant != "unclear" else "unclear speech"] += n
    rows: list[list[Any]] = [["started (entered the first question)", started], ["finished (heard a result)", finished]]
    rows += [[f"result: {amount:,} points", n] for amount, n in sorted(points, key=lambda r: -r[0])]
    rows += [[label, n] for label, n in sorted(by.items())]
    return Table("points", "The points check", ["what", "count"], rows)


def _revisions(calls: Sequence[Any], saved: dict[str, dt.datetime], zone: ZoneInfo) -> Table:
    seen: dict[str, list[dt.datetime]] = defaultdict(list)
    for call in calls:
        seen[call.revision].append(_local(call.started_at, zone))
    rows = []
    for revision, times in sorted(seen.items(), key=lambda kv: min(kv[1])):
        live = saved.get(revision)
        rows.append([revision, len(times), _minute(min(times)), _minute(max(times)), _minute(_local(live, zone)) if live else ""])
    return Table("revisions", "Menu revisions in use", ["revision", "calls", "first call", "last call", "went live"], rows)


def _local(utc_time: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return utc_time.replace(tzinfo=dt.timezone.utc).astimezone(zone)


def _minute(when: dt.datetime) -> str:
    return when.isoformat(timespec="minutes")


# -- output -------------------------------------------------------------------------------
def render(rep: Report, fmt: str, sections: Iterable[str] = ()) -> str:
    wanted = [t for t in rep.tables if not sections or t.name in sections]
    if fmt == "json":
        return json.dumps({"since": rep.since.isoformat(), "until": rep.until.isoformat(),
                           **{t.name: [dict(zip(t.columns, r)) for r in t.rows] for t in wanted}},
                          ensure_ascii=False, indent=2, default=str)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if len(wanted) == 1:  # one table: its own columns, ready for a spreadsheet
            writer.writerow(wanted[0].columns)
            writer.writerows(wanted[0].rows)
        else:  # all of them, long form: one value per line
            writer.writerow(["section", "row", "column", "value"])
            for t in wanted:
                for row in t.rows:
                    for column, value in zip(t.columns[1:], row[1:]):
                        writer.writerow([t.name, row[0], column, "" if value is None else value])
        return out.getvalue()
    return "\n\n".join(_text(t) for t in wanted) + "\n"


def _text(t: Table) -> str:
    cells = [t.columns] + [["-" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in r] for r in t.rows]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(t.columns))]
    lines = [t.title, "-" * len(t.title)]
    for row in cells:
        lines.append("  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(row, widths))))
    if not t.rows:
        lines.append("(none)")
    return "\n".join(lines)


# -- for the dashboard -----------------------------------------------------------------------
def traffic(db: Database, menu: Menu, since: dt.datetime, until: dt.datetime) -> Table:
    """Calls that went from one node straight to the next (each node entered, in order), for
    the menu diagram's edges; a node entered again after a retry counts as a loop to itself."""
    db.migrate()
    window = and_(CallRecord.started_at >= utc(since), CallRecord.started_at < utc(until))
    before = func.lag(StepRecord.node).over(partition_by=StepRecord.call_key, order_by=(StepRecord.at, StepRecord.n))
    entered = (select(StepRecord.node, before.label("before"))
               .join(CallRecord, CallRecord.key == StepRecord.call_key)
               .where(window, StepRecord.kind == "enter").subquery())
    with db.engine.connect() as conn:
        pairs = conn.execute(select(entered.c.before, entered.c.node, func.count())
                             .where(entered.c.before.is_not(None))
                             .group_by(entered.c.before, entered.c.node)).all()
    order = {name: i for i, name in enumerate(menu.nodes)}
    rows = [[source, dest, n] for source, dest, n in
            sorted(pairs, key=lambda r: (order.get(r[0], len(order)), order.get(r[1], len(order))))]
    return Table("traffic", "Calls from node to node", ["from", "to", "calls"], rows)


def in_progress(db: Database, menu: Menu, now: dt.datetime, max_age: int) -> Table:
    """Calls with no end yet that began in the last `max_age` seconds (a call's state lasts no
    longer), by the node they are at and their language."""
    db.migrate()
    with db.engine.connect() as conn:
        rows = conn.execute(select(CallRecord.last_node, CallRecord.lang, func.count())
                            .where(CallRecord.started_at >= utc(now - dt.timedelta(seconds=max_age)),
                                   CallRecord.started_at <= utc(now),
                                   CallRecord.outcome.is_(None), CallRecord.status.is_(None))
                            .group_by(CallRecord.last_node, CallRecord.lang)).all()
    order = {name: i for i, name in enumerate(menu.nodes)}
    return Table("now", "Calls in progress now", ["node", "lang", "calls"],
                 [list(r) for r in sorted(rows, key=lambda r: (order.get(r[0], len(order)), r[1]))])


def span(db: Database, menu: Menu) -> tuple[dt.date, dt.date] | None:
    """The first and last days (menu time) on which recorded calls started, or None."""
    db.migrate()
    with db.engine.connect() as conn:
        first, last = conn.execute(select(func.min(CallRecord.started_at), func.max(CallRecord.started_at))).one()
    if first is None or last is None:
        return None
    zone = ZoneInfo(menu.menu.timezone)
    return _local(first, zone).date(), _local(last, zone).date()
