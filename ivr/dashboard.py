"""The operator's dashboard: `ivr report`'s figures, the menu and its traffic, in the browser.

A blueprint under /dashboard in the service's own app, registered only when a password
hash is set (`ivr.signin` says how signing in works). Every figure is a `report.Table`, the
one source of numbers for the terminal, the CSV downloads and these pages; charts are
SVG drawn here (`ivr.charts`, `ivr.graph`), so a page needs nothing from anywhere else.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from flask import Blueprint, Flask, Response, abort, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.security import check_password_hash

from . import charts
from . import report as reports
from .archive import FolderArchive
from .database import Database, shown
from .live import MenuStore
from .menu import Menu
from .signin import Attempts, DashboardSessions, csrf_token, csrf_valid, secret_key

PREFIX = "/dashboard"
LABELS = yaml.safe_load(Path(__file__).with_name("dashboard_labels.yaml").read_text(encoding="utf-8"))
SESSION_HOURS = 12
FUNNEL_PARTS = ["gave up", "hung up", "silence", "wrong key", "unclear"]
TRANSFER_PARTS = ["answered", "busy", "no answer", "other"]


@dataclass
class Dashboard:
    """What the pages read: the records, the menus in service, the service's clock."""

    db: Database
    store: MenuStore
    clock: Callable[[], dt.datetime]
    password_hash: str
    max_age: int
    attempts: Attempts

    @property
    def menu(self) -> Menu:
        return self.store.current().engine.menu


@dataclass
class Panel:
    """One figure: its table, a chart of it, and its CSV download."""

    table: reports.Table
    chart: Markup | None = None
    open: bool = False
    """Its figures shown, not folded under the chart (where the table says more than the chart)."""

    @property
    def ja(self) -> str:
        return str(LABELS["titles"].get(self.table.name, ""))


def install(app: Flask, dashboard: Dashboard, state_secret: str) -> None:
    """Serve the dashboard in `app`, behind its sign-in."""
    app.secret_key = secret_key(dashboard.password_hash, state_secret)
    app.session_interface = DashboardSessions(PREFIX)
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=SESSION_HOURS)
    app.jinja_env.filters["ja"] = lambda word: LABELS["words"].get(word, "")
    app.register_blueprint(blueprint(dashboard))


def blueprint(dash: Dashboard) -> Blueprint:
    bp = Blueprint("dashboard", __name__, url_prefix=PREFIX, template_folder="templates",
                   static_folder="static", static_url_path="/static")
    bp.before_request(_guard)
    bp.add_url_rule("/signin", "signin", functools.partial(_signin, dash), methods=["GET", "POST"])
    bp.add_url_rule("/signout", "signout", _signout, methods=["POST"])
    bp.add_url_rule("/", "overview", functools.partial(_overview, dash))
    bp.add_url_rule("/calls", "calls", functools.partial(_calls, dash))
    bp.add_url_rule("/menu", "menu", functools.partial(_menu, dash))
    bp.add_url_rule("/transfers", "transfers", functools.partial(_sections, dash, "transfers", ["transfers"]))
    bp.add_url_rule("/points", "points", functools.partial(_sections, dash, "points", ["points"]))
    bp.add_url_rule("/csv/<name>.csv", "csv", functools.partial(_csv, dash))
    bp.register_error_handler(SQLAlchemyError, functools.partial(_unreadable, dash))
    bp.context_processor(lambda: {"csrf": csrf_token(session), "signed_in": bool(session.get("in"))})
    return bp


# -- who may look ---------------------------------------------------------------------
def _guard() -> ResponseReturnValue | None:
    """Every POST carries the session's CSRF token; every page but sign-in and the style sheet needs a session."""
    if request.method == "POST" and not csrf_valid(session, request.form.get("csrf")):
        abort(400, "the form was out of date: reload the page and try again")
    if request.endpoint in ("dashboard.signin", "dashboard.static") or session.get("in"):
        return None
    if request.endpoint == "dashboard.csv":
        abort(401)
    return redirect(url_for("dashboard.signin", next=request.full_path if request.args else request.path))


def _signin(dash: Dashboard) -> ResponseReturnValue:
    address = request.remote_addr or "?"
    error, status = "", 200
    if request.method == "POST":
        wait = dash.attempts.wait(address)
        if wait:
            error, status = f"Too many attempts: try again in {wait} s. 試行回数が多すぎます。{wait} 秒後に再度お試しください。", 429
        elif check_password_hash(dash.password_hash, request.form.get("password", "")):
            dash.attempts.succeeded(address)
            session.clear()
            session.permanent = True
            session["in"] = True
            nxt = request.args.get("next", "")
            return redirect(nxt if nxt.startswith(PREFIX + "/") else url_for("dashboard.overview"))
        else:
            dash.attempts.failed(address)
            error, status = "Wrong password. パスワードが違います。", 401
    return render_template("dashboard/signin.html", error=error), status


def _unreadable(dash: Dashboard, exc: SQLAlchemyError) -> ResponseReturnValue:
    """A records database that cannot be read: say which, and why, on the page (nothing of it is lost)."""
    why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return render_template("dashboard/unreadable.html", where=shown(str(dash.db.url)), why=why), 503


def _signout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("dashboard.signin"))


# -- the window shown ----------------------------------------------------------------------
@dataclass
class Window:
    since: dt.datetime
    until: dt.datetime
    query: dict[str, str]
    """The page's own query (for the CSV links)."""

    @property
    def days(self) -> int:
        return (self.until - self.since).days


def _window(dash: Dashboard) -> Window:
    """`?day=`, `?since=&until=` (dates, menu time), or today."""
    zone = ZoneInfo(dash.menu.menu.timezone)
    today = dash.clock().astimezone(zone).date()

    def date(name: str, default: dt.date) -> dt.date:
        try:
            return dt.date.fromisoformat(request.args[name]) if request.args.get(name) else default
        except ValueError:
            abort(400, f"{name}: write a date as YYYY-MM-DD")

    if request.args.get("since") or request.args.get("until"):
        first, last = date("since", today), date("until", today + dt.timedelta(days=1))
        query = {"since": first.isoformat(), "until": last.isoformat()}
    else:
        first = date("day", today)
        last, query = first + dt.timedelta(days=1), {"day": first.isoformat()}
    if last <= first:
        abort(400, "until must come after since")
    start = dt.datetime.combine(first, dt.time(), zone)
    return Window(start, dt.datetime.combine(last, dt.time(), zone), query)


def _report(dash: Dashboard, window: Window) -> reports.Report:
    return reports.report(dash.db, dash.menu, window.since, window.until)


def _page(dash: Dashboard, view: str, window: Window | None, panels: list[Panel], **extra: Any) -> str:
    span = reports.span(dash.db, dash.menu)
    surge = {"since": span[0].isoformat(), "until": (span[1] + dt.timedelta(days=1)).isoformat()} if span else None
    zone = ZoneInfo(dash.menu.menu.timezone)
    return render_template("dashboard/page.html", view=view, window=window, panels=panels, surge=surge,
                           menu=dash.menu.menu, zone=zone.key, now=dash.clock().astimezone(zone), **extra)


# -- the views -------------------------------------------------------------------------
def _overview(dash: Dashboard) -> ResponseReturnValue:
    window = _window(dash)
    rep = _report(dash, window)
    now = reports.in_progress(dash.db, dash.menu, dash.clock(), dash.max_age)
    panels = [Panel(now, _bars(now, "node", ["calls"], label=lambda r: f"{r[0]} ({r[1]})")),
              _hours_panel(rep, window), Panel(rep.table("summary"))]
    revision = dash.store.current()
    return _page(dash, "overview", window, panels, revision=revision.id, live=_went_live(dash, rep, revision.id),
                 refused=dash.store.refused, menu_file=str(dash.store.path))


def _calls(dash: Dashboard) -> ResponseReturnValue:
    window = _window(dash)
    rep = _report(dash, window)
    panels = [_hours_panel(rep, window)]
    if window.days > 1:
        days = rep.table("days")
        panels.append(Panel(days, _columns(days, [_day(window.since, i) for i in range(window.days)])))
    return _page(dash, "calls", window, panels)


def _menu(dash: Dashboard) -> ResponseReturnValue:
    window = _window(dash)
    rep = _report(dash, window)
    main, funnel = rep.table("main_menu"), rep.table("funnel")
    panels = [Panel(main, _bars(main, "calls", ["calls"], label=lambda r: f"{r[0]} → {r[1]}")),
              Panel(funnel, _bars(funnel, "entered", FUNNEL_PARTS, label=lambda r: str(r[0]), rest=True))]
    flows = reports.traffic(dash.db, dash.menu, window.since, window.until)
    return _page(dash, "menu", window, panels, diagram=_diagram(dash.menu, flows, funnel), traffic=Panel(flows))


def _sections(dash: Dashboard, view: str, names: list[str]) -> ResponseReturnValue:
    window = _window(dash)
    rep = _report(dash, window)
    panels = []
    for name in names:
        table = rep.table(name)
        if name == "transfers":
            panels.append(Panel(table, _bars(table, "offered", TRANSFER_PARTS, label=lambda r: str(r[0])), open=True))
        else:
            panels.append(Panel(table, _bars(table, "count", ["count"], label=lambda r: str(r[0]))))
    return _page(dash, view, window, panels)


def _csv(dash: Dashboard, name: str) -> ResponseReturnValue:
    """One figure as CSV, the same text as `ivr report --section NAME --format csv`."""
    window = _window(dash)
    if name == "traffic":
        table = reports.traffic(dash.db, dash.menu, window.since, window.until)
    elif name == "now":
        table = reports.in_progress(dash.db, dash.menu, dash.clock(), dash.max_age)
    else:
        rep = _report(dash, window)
        if name not in {t.name for t in rep.tables}:
            abort(404)
        table = rep.table(name)
    text = reports.render(reports.Report(window.since, window.until, [table]), "csv", [name])
    stamp = "_".join(window.query.values())
    return Response(text, content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}_{stamp}.csv"'})


# -- figures into charts ----------------------------------------------------------------------
def _day(since: dt.datetime, i: int) -> str:
    return (since + dt.timedelta(days=i)).date().isoformat()


def _hours_panel(rep: reports.Report, window: Window) -> Panel:
    """Calls per hour over the window, every hour shown (none is 0)."""
    table = rep.table("hours")
    hours = window.days * 24
    zone = window.since.tzinfo
    buckets = [(window.since + dt.timedelta(hours=h)).astimezone(zone).strftime("%Y-%m-%d %H:00") for h in range(hours)]
    return Panel(table, _columns(table, buckets, short=window.days == 1))


def _columns(table: reports.Table, buckets: list[str], short: bool = False) -> Markup:
    langs = table.columns[2:]
    found = {row[0]: row for row in table.rows}
    series = {lang: [found[b][2 + i] if b in found else 0 for b in buckets] for i, lang in enumerate(langs)}
    if short:  # one day: every hour
        ticks = [b[11:13] for b in buckets]
    else:  # many: each day's date, under its first hour (or under each day)
        ticks = [b[5:10] if len(b) == 10 or b.endswith(" 00:00") else "" for b in buckets]
    return Markup(charts.columns(table.title, buckets, series or {"calls": [0] * len(buckets)}, ticks))


def _bars(table: reports.Table, total: str, parts: list[str], label: Callable[[list[Any]], str],
          rest: bool = False) -> Markup | None:
    """Bars per row, split into `parts` (columns of the table); with `rest`, what is left of
    `total` after the parts is drawn too (e.g. callers who went on)."""
    if not table.rows:
        return None  # the table says "none"
    cols = table.columns
    series = {p: [float(r[cols.index(p)] or 0) for r in table.rows] for p in parts}
    if rest:
        series = {"went on": [max(0.0, float(r[cols.index(total)]) - sum(series[p][i] for p in parts))
                              for i, r in enumerate(table.rows)], **series}
    return Markup(charts.bars(table.title, [label(r) for r in table.rows], series))


def _diagram(menu: Menu, flows: reports.Table, funnel: reports.Table) -> Markup | str:
    """The `ivr graph` diagram with each edge's calls and the nodes where callers gave up."""
    from .errors import GraphError
    from .graph import build, draw

    gave = {row[0]: int(row[8]) + int(row[9]) for row in funnel.rows}
    try:
        svg = draw(build(menu, traffic={(a, b): n for a, b, n in flows.rows}, gave_up=gave), "svg").decode()
    except GraphError as exc:
        return str(exc)
    return Markup(svg[svg.index("<svg"):])


def _went_live(dash: Dashboard, rep: reports.Report, revision: str) -> str:
    """When the revision in service went live: recorded with it in the database, else when
    its file entered the archive folder."""
    for row in rep.table("revisions").rows:
        if row[0] == revision and row[4]:
            return str(row[4])
    archive = dash.store.archive
    if isinstance(archive, FolderArchive):
        saved = archive.folder / f"{revision.rsplit('+', 1)[-1]}.yaml"
        if saved.exists():
            zone = ZoneInfo(dash.menu.menu.timezone)
            return dt.datetime.fromtimestamp(saved.stat().st_mtime, zone).isoformat(timespec="minutes")
    return ""
