"""The operator's dashboard: who may see it, that it shows the report's own figures, and that
it renders in a real headless Chromium over a database seeded by `ivr records simulate`."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import arrived, chromium, shown
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support import MENU_PATH, jst
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from ivr.cli import cli
from ivr.database import Database
from ivr.loader import load_menu
from ivr.report import render, report
from ivr.tables import CallRecord, StepRecord
from ivr.web import create_app
from ivr.wire import WireLine, wsgi_transport

PASSWORD = "correct horse"
HASH = generate_password_hash(PASSWORD)
NOW = jst(2022, 7, 1, 11, 0)  # inside the surge: "today" is 2022-07-01
SURGE = "since=2022-06-30&until=2022-07-09"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of 800 simulated surge calls, made by the command operators use."""
    url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'records.sqlite3'}"
    done = CliRunner().invoke(cli, ["records", "simulate", "--calls", "800", "--since", "2022-06-30",
                                    "--until", "2022-07-09", "--database", url])
    assert done.exit_code == 0, done.output
    return url


def app_on(url: str, menu: Path = MENU_PATH, **config: Any) -> Flask:
    return create_app(str(menu), clock=lambda: NOW, config={
        "ALLOW_UNSIGNED": True, "STATE_SECRET": "dash", "DATABASE_URL": url, "MENU_CHECK_INTERVAL": 0,
        "RECORDS": False, "DASHBOARD_PASSWORD_HASH": HASH, **config})


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(client: FlaskClient, password: str = PASSWORD) -> Any:
    page = client.get("/dashboard/signin").get_data(as_text=True)
    return client.post("/dashboard/signin", data={"csrf": csrf(page), "password": password})


# -- who may see it ---------------------------------------------------------------------
def test_without_a_password_hash_there_is_no_dashboard(seeded: str) -> None:
    client = app_on(seeded, DASHBOARD_PASSWORD_HASH=None).test_client()
    for path in ("/dashboard/", "/dashboard/signin", "/dashboard/csv/summary.csv"):
        reply = client.get(path)
        assert reply.status_code == 404 and "Response" not in reply.get_data(as_text=True)  # not TwiML


def test_signed_out_requests_are_refused(seeded: str) -> None:
    client = app_on(seeded).test_client()
    for view in ("/dashboard/", "/dashboard/calls", "/dashboard/menu", "/dashboard/transfers", "/dashboard/points"):
        reply = client.get(view)
        assert reply.status_code == 302 and reply.location.startswith("/dashboard/signin")
    assert client.get("/dashboard/csv/summary.csv").status_code == 401
    assert client.get("/dashboard/static/dashboard.css").status_code == 200  # the sign-in page's style


def test_signing_in_needs_the_password_and_the_forms_token(seeded: str) -> None:
    client = app_on(seeded).test_client()
    assert client.post("/dashboard/signin", data={"password": PASSWORD}).status_code == 400  # no CSRF token
    assert sign_in(client, "wrong").status_code == 401
    reply = sign_in(client)
    assert reply.status_code == 302 and reply.location == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    page = client.get("/dashboard/").get_data(as_text=True)
    assert client.post("/dashboard/signout", data={}).status_code == 400  # a forged sign-out
    client.post("/dashboard/signout", data={"csrf": csrf(page)})
    assert client.get("/dashboard/").status_code == 302


def test_sign_in_attempts_are_limited_per_address(seeded: str) -> None:
    client = app_on(seeded).test_client()
    for _ in range(5):
        assert sign_in(client, "guess").status_code == 401
    assert sign_in(client).status_code == 429  # even the right password, for a while
    other = app_on(seeded).test_client()  # a fresh process's count (each worker keeps its own)
    assert sign_in(other).status_code == 302


def test_the_cookie_is_httponly_strict_and_secure_except_on_local_http(seeded: str) -> None:
    app = app_on(seeded)
    local = sign_in(app.test_client()).headers["Set-Cookie"]
    assert "HttpOnly" in local and "SameSite=Strict" in local and "Secure" not in local
    remote = app.test_client()
    page = remote.get("/dashboard/signin", base_url="http://ivr.example.jp").get_data(as_text=True)
    cookie = remote.post("/dashboard/signin", base_url="http://ivr.example.jp",
                         data={"csrf": csrf(page), "password": PASSWORD}).headers.get("Set-Cookie", "")
    assert "Secure" in cookie  # a browser sends it back over HTTPS only


def test_the_webhooks_keep_their_signature_check_and_set_no_cookie(seeded: str) -> None:
    app = app_on(seeded, ALLOW_UNSIGNED=False, TWILIO_AUTH_TOKEN="token")
    client = app.test_client()
    reply = client.post("/voice", data={"CallSid": "CA1", "From": "+819012345678"})
    assert reply.status_code == 403 and "Set-Cookie" not in reply.headers
    sign_in(client)
    assert client.post("/voice", data={"CallSid": "CA1"}).status_code == 403  # a dashboard session is no signature


# -- the figures --------------------------------------------------------------------------
def test_every_csv_is_the_reports_own(seeded: str) -> None:
    client = app_on(seeded).test_client()
    sign_in(client)
    menu = load_menu(MENU_PATH)
    rep = report(Database(seeded), menu, jst(2022, 6, 30), jst(2022, 7, 9))
    for table in rep.tables:
        reply = client.get(f"/dashboard/csv/{table.name}.csv?{SURGE}")
        assert reply.status_code == 200 and reply.mimetype == "text/csv"
        assert reply.get_data(as_text=True) == render(rep, "csv", [table.name])
    assert client.get("/dashboard/csv/nothing.csv").status_code == 404


def test_edge_traffic_matches_the_steps_and_is_drawn_on_the_diagram(seeded: str) -> None:
    client = app_on(seeded).test_client()
    sign_in(client)
    rows = client.get(f"/dashboard/csv/traffic.csv?{SURGE}").get_data(as_text=True).splitlines()
    flows = {tuple(r.split(",")[:2]): int(r.split(",")[2]) for r in rows[1:]}
    with Database(seeded).engine.connect() as conn:
        main = conn.execute(select(func.count()).select_from(StepRecord)
                            .where(StepRecord.kind == "enter", StepRecord.node == "main")).scalar_one()
    into_main = sum(n for (_, dest), n in flows.items() if dest == "main")
    assert 0 < into_main <= main  # every entry of main after another node (a first node is entered from none)
    page = client.get(f"/dashboard/menu?{SURGE}").get_data(as_text=True)
    assert f"({flows[('fraud_warning', 'main')]:,})" in page  # the edge's label carries its calls
    assert 'stroke-width="8"' in page or 'stroke-width="8.0"' in page  # the busiest edge drawn thickest
    assert "✕" in page  # nodes where callers gave up are marked


def test_calls_in_progress_now_are_shown(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    app = app_on(url, RECORDS=True)
    line = WireLine(wsgi_transport(app), app.extensions["ivr"].voice.menu, caller="+819011112222")
    line.start(None)  # a call waiting at the language choice
    app.extensions["ivr"].voice.records.flush()
    client = app.test_client()
    sign_in(client)
    rows = client.get("/dashboard/csv/now.csv").get_data(as_text=True).splitlines()
    assert rows == ["node,lang,calls", "language,ja,1"]
    assert "通話中の着信" in client.get("/dashboard/").get_data(as_text=True)


def test_a_refused_edit_shows_its_errors_with_file_and_line(seeded: str, tmp_path: Path) -> None:
    menu = tmp_path / "free_dial.yaml"
    shutil.copy(MENU_PATH, menu)
    app = app_on(seeded, menu, MENU_ARCHIVE=str(tmp_path / "archive"))
    menu.write_text(menu.read_text(encoding="utf-8").replace("next: main", "next: mian", 1), encoding="utf-8")
    store = app.extensions["ivr"].store
    store.refresh()
    assert store.refused
    client = app.test_client()
    sign_in(client)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "was refused" in page and f"{menu}:" in page and "mian" in page
    assert store.current().id in page


# -- in a real browser ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(seeded: str) -> Iterator[str]:
    """The app on 127.0.0.1 (a port of its own), in a thread."""
    httpd = make_server("127.0.0.1", 0, app_on(seeded), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    driver = chromium(tmp_path / "profile")
    yield driver
    driver.quit()


def cells(browser: Any, table: str) -> list[list[str]]:
    """A figure's table as shown (its rows' text, even while folded away)."""
    rows = browser.find_elements("css selector", f'table[data-table="{table}"] tbody tr')
    return [[td.get_attribute("textContent").strip() for td in row.find_elements("css selector", "td")] for row in rows]


def bars_drawn(browser: Any, panel: str) -> int:
    return len(browser.find_elements("css selector", f"#panel-{panel} svg rect.bar"))


def test_in_chromium_signed_out_then_in_each_view_against_the_database(server: str, seeded: str, browser: Any,
                                                                         tmp_path: Path) -> None:
    browser.get(f"{server}/dashboard/menu?{SURGE}")
    assert "/dashboard/signin" in browser.current_url  # refused while signed out
    browser.find_element("id", "password").send_keys("wrong")
    browser.find_element("id", "signin").click()
    assert "パスワードが違います" in shown(browser, "error").text
    browser.find_element("id", "password").send_keys(PASSWORD)
    browser.find_element("id", "signin").click()
    assert arrived(browser, f"{server}/dashboard/menu?{SURGE}"), browser.current_url  # back where it was asked for

    with Database(seeded).engine.connect() as conn:
        calls = conn.execute(select(func.count()).select_from(CallRecord)).scalar_one()
        entered = dict(conn.execute(select(StepRecord.node, func.count()).where(StepRecord.kind == "enter")
                                    .group_by(StepRecord.node)).all())
    funnel = {row[0]: row for row in cells(browser, "funnel")}
    assert funnel["main"][1] == f"{entered['main']:,}" and funnel["card_desk"][1] == f"{entered['card_desk']:,}"
    assert bars_drawn(browser, "funnel") > len(funnel) and bars_drawn(browser, "main_menu") >= 5
    assert browser.find_elements("css selector", "#panel-graph svg g.node")  # the diagram, drawn
    assert browser.find_elements("css selector", "#panel-graph svg g.edge path")

    browser.get(f"{server}/dashboard/calls?{SURGE}")
    days = cells(browser, "days")
    assert sum(int(row[1].replace(",", "")) for row in days) == calls
    assert bars_drawn(browser, "hours") > 100 and bars_drawn(browser, "days") >= 9 * 2

    browser.get(f"{server}/dashboard/")  # today: 2022-07-01 by the service's clock, in Japan time
    assert "2022-07-01 00:00 – 2022-07-02 00:00 (Asia/Tokyo)" in browser.find_element("id", "shown").text
    with Database(seeded).engine.connect() as conn:
        today = conn.execute(select(func.count()).where(CallRecord.started_at >= jst(2022, 6, 30, 15).replace(tzinfo=None),
                                                        CallRecord.started_at < jst(2022, 7, 1, 15).replace(tzinfo=None))
                             ).scalar_one()
    summary = {row[0]: row[1] for row in cells(browser, "summary")}
    assert summary["calls"] == f"{today:,}"
    assert bars_drawn(browser, "hours") >= 10
    assert browser.find_element("id", "revision").text.startswith("2026.11.1+")

    browser.get(f"{server}/dashboard/transfers?{SURGE}")
    desks = {row[0]: row for row in cells(browser, "transfers")}
    with Database(seeded).engine.connect() as conn:
        offered = conn.execute(select(func.count()).where(StepRecord.kind == "enter", StepRecord.node == "card_desk",
                                                          StepRecord.detail == "transfer")).scalar_one()
    assert desks["card_desk"][1] == f"{offered:,}" and bars_drawn(browser, "transfers") >= len(desks)

    browser.get(f"{server}/dashboard/points?{SURGE}")
    points = {row[0]: row[1] for row in cells(browser, "points")}
    assert int(points["finished (heard a result)"].replace(",", "")) > 0 and bars_drawn(browser, "points") > 2

    browser.get(f"{server}/dashboard/?{SURGE}")
    shot = tmp_path / "dashboard.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000

    browser.set_window_size(820, 1180)  # a tablet, upright: the page fits its width
    browser.get(f"{server}/dashboard/menu?{SURGE}")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 820 + 1


def test_in_chromium_no_page_fetches_anything_from_elsewhere(server: str, browser: Any) -> None:
    browser.get(f"{server}/dashboard/signin")
    browser.find_element("id", "password").send_keys(PASSWORD)
    browser.find_element("id", "signin").click()
    for view in ("", "calls", "menu", "transfers", "points"):
        browser.get(f"{server}/dashboard/{view}?{SURGE}")
        urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert all(u.startswith(server) for u in urls), urls


# -- bad input, a database in trouble, the command ----------------------------------------------
def test_a_bad_date_is_answered_with_what_to_write(seeded: str) -> None:
    client = app_on(seeded).test_client()
    sign_in(client)
    reply = client.get("/dashboard/calls?day=2022-13-01")
    assert reply.status_code == 400 and "day: write a date as YYYY-MM-DD" in reply.get_data(as_text=True)
    reply = client.get("/dashboard/calls?since=2022-07-09&until=2022-06-30")
    assert reply.status_code == 400 and "until must come after since" in reply.get_data(as_text=True)


def test_a_database_that_cannot_be_read_is_named_on_the_page(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-database"
    folder.mkdir()
    client = app_on(f"sqlite:///{folder}").test_client()  # a folder: SQLite cannot open it
    sign_in(client)
    reply = client.get("/dashboard/")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 503 and f"sqlite:///{folder}" in page and "OperationalError" in page


def test_hash_password_makes_a_hash_the_dashboard_takes(seeded: str) -> None:
    done = CliRunner().invoke(cli, ["dashboard", "hash-password", "--password", "s3cret"])
    assert done.exit_code == 0
    client = app_on(seeded, DASHBOARD_PASSWORD_HASH=done.output.strip()).test_client()
    assert sign_in(client, "s3cret").status_code == 302


def test_ivr_dashboard_seeds_a_surge_and_prints_where_to_open_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[Flask] = []
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda host, port, app, **_: served.append(app))
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    done = CliRunner().invoke(cli, ["dashboard", "--simulate", "40", "--database", url, "--port", "8123"],
                              input="pw\npw\n")
    assert done.exit_code == 0, done.output
    assert f"http://127.0.0.1:8123/dashboard/?{SURGE}" in done.output
    client = served[0].test_client()
    assert sign_in(client, "pw").status_code == 302
    rows = client.get(f"/dashboard/csv/summary.csv?{SURGE}").get_data(as_text=True).splitlines()
    assert rows[1] == "calls,40"
