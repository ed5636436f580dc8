"""Call records: what a call leaves in the database, on SQLite and on a real PostgreSQL, and that
a database in trouble never costs a caller anything."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from postgres import Server, drop_database, fresh_database
from sqlalchemy import create_engine, inspect, select, text
from gunicorn_server import serve, wait_until
from support import MENU_PATH, jst

from ivr.database import Database, upgrade
from ivr.engine import End, Listen, Press, Speak, Transfer
from ivr.loader import load_menu
from ivr.recorder import Recorder, prune
from ivr.records import Ending, Move, Visit
from ivr.report import report
from ivr.surge import simulate
from ivr.tables import Base, CallRecord, MenuRevisionRecord, StepRecord
from ivr.web import create_app
from ivr.wire import WireLine, at_time, http_transport, wsgi_transport

MONDAY = jst(2026, 12, 7, 10, 0)
CALLER = "+819012345678"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a real PostgreSQL server: the one .ci/run started, else one of our own."""
    import os

    given = os.environ.get("IVR_TEST_DATABASE_URL")
    if given:
        yield given
        return
    server = Server()
    yield server.url
    server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'records.sqlite3'}"
        return
    url = fresh_database(request.getfixturevalue("postgres_server"))
    yield url
    drop_database(url)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """An empty PostgreSQL database."""
    url = fresh_database(postgres_server)
    yield url
    drop_database(url)


def service(url: str, menu: Path = MENU_PATH, **config: Any) -> Flask:
    return create_app(str(menu), clock=lambda: MONDAY, config={
        "ALLOW_UNSIGNED": True, "STATE_SECRET": "records", "DATABASE_URL": url, "MENU_CHECK_INTERVAL": 0,
        "ALLOW_CLOCK_HEADER": True, **config})


def recorder(app: Flask) -> Recorder:
    records = app.extensions["ivr"].voice.records
    assert isinstance(records, Recorder)
    return records


def line(app: Flask, at: dt.datetime = MONDAY) -> WireLine:
    return WireLine(at_time(wsgi_transport(app), at), app.extensions["ivr"].voice.menu, caller=CALLER)


def rows(url: str, table: Any) -> list[dict[str, Any]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = [dict(r._mapping) for r in connection.execute(select(table))]
    engine.dispose()
    return found


def test_a_call_and_its_steps_are_recorded(database_url: str) -> None:
    app = service(database_url)
    call = line(app)
    call.start(None)
    call.send(Press("2"))           # English
    assert isinstance(call.send(Press("2")).action, Transfer)  # main menu: lost card, straight to the desk
    call.dialled("busy")
    assert isinstance(call.send(Press("2")).action, End)       # lost_busy: end the call
    call.hang_up(95)
    recorder(app).flush()

    [record] = rows(database_url, CallRecord)
    assert record["lang"] == "en" and record["outcome"] == "goodbye" and record["desk"] == "lost_desk"
    assert record["status"] == "completed" and record["duration"] == 95
    assert record["started_at"] == MONDAY.astimezone(dt.timezone.utc).replace(tzinfo=None)
    steps = sorted(rows(database_url, StepRecord), key=lambda r: r["id"])  # one writer: in the order taken
    did = [(r["node"], r["kind"], r["meant"], r["key"], r["via"], r["detail"]) for r in steps]
    assert did == [
        ("language", "enter", None, None, None, None),
        ("language", "input", "key", "2", "key", None),
        ("lost_card_first", "enter", None, None, None, None),
        ("fraud_warning", "enter", None, None, None, None),
        ("main", "enter", None, None, None, None),
        ("main", "input", "key", "2", "key", None),
        ("lost_card", "enter", None, None, None, None),
        ("lost_desk", "enter", None, None, None, "transfer"),
        ("lost_desk", "input", "unanswered", None, "dial", "busy"),
        ("lost_busy", "enter", None, None, None, None),
        ("lost_busy", "input", "key", "2", "key", None),
        ("goodbye", "enter", None, None, None, None),
    ]
    assert recorder(app).health() == {"database": database_url.split(":")[0].split("+")[0], "written": 6, "lost": 0,
                                      "queued": 0, "state": "ok"}


def test_a_choice_said_is_recorded_and_reported_with_its_key(database_url: str) -> None:
    """By voice, the language, then "I lost my card": the steps say speech and the key chosen
    (not the words), and the report counts the main menu's 2 like a pressed one."""
    app = service(database_url)
    call = line(app)
    call.start(None)
    call.send(Speak("English please"))
    assert isinstance(call.send(Speak("I lost my card")).action, Transfer)
    call.hang_up(40)
    recorder(app).flush()
    said = [(r["node"], r["meant"], r["key"], r["via"]) for r in rows(database_url, StepRecord) if r["kind"] == "input"]
    assert said == [("language", "key", "2", "speech"), ("main", "key", "2", "speech")]
    assert "lost my card" not in " ".join(str(v) for r in rows(database_url, StepRecord) for v in r.values())
    db = Database(database_url)
    choices = report(db, load_menu(MENU_PATH), MONDAY - dt.timedelta(days=1), MONDAY + dt.timedelta(days=1))
    assert [r[:3] for r in choices.table("main_menu").rows] == [["2", "lost_card", 1]]


def test_nothing_recorded_names_the_caller_or_the_call(database_url: str) -> None:
    """No phone number and no CallSid anywhere; the points check's answers are tied to no
    caller, and what was said there is kept only as yes, no or unclear."""
    app = service(database_url)
    plain, checked = line(app), line(app)
    plain.start(None)
    plain.send(Press("2"))
    plain.send(Press("1"))
    checked.start(None)
    checked.send(Press("2"))
    checked.send(Press("5"))        # Mynapoint
    step = checked.send(Press("1"))  # the points check
    step = checked.send(Speak("yes, I think I do"))
    for _ in range(8):
        if not (isinstance(step.action, Listen) and "yes" in step.action.hints):  # questions hear yes
            break
        step = checked.send(Press("2"))
    recorder(app).flush()

    every_value = " ".join(str(v) for table in (CallRecord, StepRecord) for r in rows(database_url, table)
                           for v in r.values())
    for secret in (CALLER, CALLER.lstrip("+"), plain.sid, checked.sid):
        assert secret not in every_value
    assert "I think" not in every_value
    callers = {r["caller"] for r in rows(database_url, CallRecord)}
    assert len(callers) == 2 and None in callers  # the plain call keeps its keyed hash; the checked one none
    spoken = [r for r in rows(database_url, StepRecord) if r["via"] == "speech"]
    assert [r["meant"] for r in spoken] in (["yes"], ["unclear"])


def test_a_call_has_one_row_whatever_order_its_webhooks_are_written_in(tmp_path: Path) -> None:
    """Each worker writes what its webhook knows; rows of one call merge the same in any order."""
    menu = load_menu(MENU_PATH)
    from ivr.engine import Engine

    engine = Engine(menu, "r1")
    call, first = engine.start(MONDAY)
    second = engine.step(call, Press("2"), MONDAY + dt.timedelta(seconds=20))
    third = engine.step(call, Press("2"), MONDAY + dt.timedelta(seconds=50))
    visits = [Visit("k", "caller", MONDAY, "ja", {}, "r1", menu, [Move(None, None, None, first)], start=True),
              Visit("k", "caller", MONDAY + dt.timedelta(seconds=20), "en", {}, "r1", menu,
                    [Move("language", "key", "2", second)]),
              Visit("k", "caller", MONDAY + dt.timedelta(seconds=50), "en", {}, "r1", menu,
                    [Move("main", "key", "2", third)])]
    ending = Ending("k", MONDAY + dt.timedelta(seconds=300), "completed", 300)
    results = []
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]):
        url = f"sqlite:///{tmp_path / ''.join(map(str, order))}.sqlite3"
        for i in order:  # one batch each: the database merges them
            writer = Recorder(Database(url), background=False)
            writer.add(ending if i == 3 else visits[i])
            writer.flush()
        [row] = rows(url, CallRecord)
        results.append(row)
    assert results[0] == results[1] == results[2]
    assert results[0]["lang"] == "en" and results[0]["last_node"] == "lost_desk" and results[0]["duration"] == 300


def test_a_started_service_has_its_tables_and_its_menu_before_any_webhook(database_url: str) -> None:
    """ivr.warm: the worker's start migrates and loads, so the first caller does not."""
    app = service(database_url)
    assert app.extensions["ivr"].voice.menu.menu.name
    assert {"calls", "steps"} <= set(inspect(create_engine(database_url)).get_table_names())
    assert recorder(app).written == 0  # no call was recorded by the warm-up


def test_the_migrations_make_the_tables_the_models_describe(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(database_url)
    upgrade(engine)
    upgrade(engine)  # a second run (another worker's) changes nothing
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
    assert {"calls", "steps", "menu_revisions", "menu_pointers"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_report_counts_what_the_simulation_played(database_url: str) -> None:
    menu = load_menu(MENU_PATH)
    db = Database(database_url)
    writer = Recorder(db, background=False)
    since, until = jst(2022, 6, 30), jst(2022, 7, 3)
    tally = simulate(MENU_PATH, writer, 150, since, until, seed=7)
    writer.flush()
    assert writer.lost == 0
    result = report(db, menu, since, until)

    summary = dict((r[0], r[1]) for r in result.table("summary").rows)
    assert summary["calls"] == tally.calls == 150
    assert summary["caller hung up"] == tally.hung_up
    assert summary["answered by staff"] == sum(tally.answered.values())
    days = result.table("days")
    assert {r[0]: r[1] for r in days.rows} == {d.isoformat(): n for d, n in tally.days.items()}
    languages = {lang: sum(r[i] for r in days.rows) for i, lang in enumerate(days.columns) if i >= 2}
    assert Counter({k: v for k, v in languages.items() if v}) == tally.languages
    assert sum(r[1] for r in result.table("hours").rows) == tally.calls
    transfers = {r[0]: r for r in result.table("transfers").rows}
    assert {d: r[1] for d, r in transfers.items()} == dict(tally.offered)
    assert {d: r[2] for d, r in transfers.items() if r[2]} == dict(tally.answered)
    assert {d: r[3] + r[4] for d, r in transfers.items() if r[3] + r[4]} == dict(tally.unanswered)
    points = dict((r[0], r[1]) for r in result.table("points").rows)
    assert sum(n for what, n in points.items() if what.startswith("result:")) == tally.points_results
    funnel = {r[0]: r for r in result.table("funnel").rows}
    assert funnel["language"][1] == tally.calls  # every call begins at the language choice
    assert sum(r[9] for r in funnel.values()) == tally.hung_up  # each hang-up at one node
    assert all(r[10] is None or r[10] >= 0 for r in funnel.values()) and funnel["main"][10] > 0  # seconds taken
    [revision] = result.table("revisions").rows
    assert revision[1] == tally.calls


def test_prune_deletes_what_is_older_than_asked(database_url: str) -> None:
    db = Database(database_url)
    writer = Recorder(db, background=False)
    simulate(MENU_PATH, writer, 20, jst(2022, 6, 30), jst(2022, 7, 1), seed=3)
    simulate(MENU_PATH, writer, 10, jst(2022, 7, 10), jst(2022, 7, 11), seed=4)
    writer.flush()
    calls, steps = prune(db, jst(2022, 7, 5))
    assert calls == 20 and steps > 20
    left = rows(database_url, CallRecord)
    assert len(left) == 10 and all(r["started_at"] >= dt.datetime(2022, 7, 9) for r in left)


def test_menu_revisions_are_shared_through_the_database(database_url: str, tmp_path: Path) -> None:
    """Two machines (two folders, the same menu file name) on one database: a call that began on
    the first's menu finishes on it on the second, which only ever saw the edited file."""
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    for folder in (first_dir, second_dir):
        folder.mkdir()
        shutil.copy(MENU_PATH, folder / "free_dial.yaml")
    first = service(database_url, first_dir / "free_dial.yaml")
    call = line(first)
    call.start(None)
    call.send(Press("2"))  # English: the call is now on the first revision, at the main menu
    edited = (second_dir / "free_dial.yaml").read_text(encoding="utf-8").replace("Goodbye.", "Goodbye from the edit.")
    (second_dir / "free_dial.yaml").write_text(edited, encoding="utf-8")
    second = service(database_url, second_dir / "free_dial.yaml")
    assert second.extensions["ivr"].store.current().id != first.extensions["ivr"].store.current().id
    call.transport = at_time(wsgi_transport(second), MONDAY)
    assert isinstance(call.send(Press("2")).action, Transfer)  # the lost card desk
    call.dialled("busy")
    goodbye = call.send(Press("2"))
    assert isinstance(goodbye.action, End)
    said = " ".join(u.text for u in goodbye.say)
    assert "Goodbye." in said and "from the edit" not in said  # the first revision's words, on the second machine
    shown = second.test_client().get("/health").json
    assert shown is not None and shown["archive"] == "ok"
    assert len(rows(database_url, MenuRevisionRecord)) == 2


def test_a_stopped_postgres_server_fails_no_webhook() -> None:
    server = Server()
    url = fresh_database(server.url)
    app = service(url)
    client_line = line(app)
    client_line.start(None)
    recorder(app).flush()
    assert recorder(app).health()["written"] == 1
    server.stop()
    try:
        step = client_line.send(Press("2"))                # English: the webhook answers as ever
        assert isinstance(step.action, Listen)
        assert isinstance(client_line.send(Press("2")).action, Transfer)
        recorder(app).flush()                               # the writer's attempt fails: counted, not raised
        health = app.test_client().get("/health").json
        assert health is not None and health["status"] == "ok"
        assert health["records"]["lost"] == 2 and health["records"]["state"] == "failing"
    finally:
        server.start()
    client_line.dialled("completed")
    recorder(app).flush()
    assert recorder(app).health()["state"] == "ok" and recorder(app).health()["written"] == 2
    server.close()


def test_a_database_that_cannot_be_opened_loses_records_not_calls(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    app = service(f"sqlite:///{blocker / 'records.sqlite3'}")  # its folder is a file: nothing can be written
    call = line(app)
    call.start(None)
    assert isinstance(call.send(Press("2")).action, Listen)
    recorder(app).flush()
    assert recorder(app).health()["lost"] == 2


def test_postgres_is_really_there(postgres_server: str) -> None:
    """Not a stand-in: the server answers as PostgreSQL."""
    engine = create_engine(postgres_server)
    with engine.connect() as connection:
        assert "PostgreSQL" in connection.execute(text("SELECT version()")).scalar_one()
    engine.dispose()


def test_two_machines_on_one_postgres_serve_a_call_across_a_menu_change(postgres_url: str, tmp_path: Path) -> None:
    """Two gunicorn instances, each with its own copy of the menu (as two machines have), one
    database: a call hops between them while one of them takes an edited menu, and finishes on
    the revision it began on; its records from both are one call."""
    folders = [tmp_path / "one", tmp_path / "two"]
    for folder in folders:
        folder.mkdir()
        shutil.copy(MENU_PATH, folder / "free_dial.yaml")
    common = {"IVR_DATABASE_URL": postgres_url, "IVR_STATE_SECRET": "machines", "IVR_ALLOW_UNSIGNED": "true",
              "IVR_ALLOW_CLOCK_HEADER": "true", "IVR_MENU_CHECK_INTERVAL": "0.1"}
    with serve(folders[0], {**common, "IVR_MENU": str(folders[0] / "free_dial.yaml")}, 1) as one, \
            serve(folders[1], {**common, "IVR_MENU": str(folders[1] / "free_dial.yaml")}, 1) as two:
        menu = load_menu(MENU_PATH)
        to_one, to_two = http_transport(one.base, at=MONDAY), http_transport(two.base, at=MONDAY)
        call = WireLine(to_one, menu, caller=CALLER)
        call.start(None)
        call.send(Press("2"))  # English, on machine one
        began = one.health()["revision"]
        edited = (folders[1] / "free_dial.yaml").read_text(encoding="utf-8").replace("Goodbye.", "Goodbye from the edit.")
        (folders[1] / "free_dial.yaml").write_text(edited, encoding="utf-8")
        wait_until(lambda: two.health()["revision"] != began, "machine two to take the edit")
        call.transport = to_two
        assert isinstance(call.send(Press("2")).action, Transfer)  # lost card, on machine two
        call.transport = to_one
        call.dialled("busy")
        call.transport = to_two
        goodbye = call.send(Press("2"))
        said = " ".join(u.text for u in goodbye.say)
        assert isinstance(goodbye.action, End) and "Goodbye." in said and "from the edit" not in said
        call.hang_up(80)
        fresh = WireLine(to_two, menu, caller=CALLER)  # a new call on machine two gets the edit
        fresh.start("en")
        assert isinstance(fresh.send(Press("2")).action, Transfer)
        fresh.dialled("busy")
        assert "from the edit" in " ".join(u.text for u in fresh.send(Press("2")).say)
        wait_until(lambda: len(rows(postgres_url, CallRecord)) == 2 and all(
            r["duration"] for r in rows(postgres_url, CallRecord) if r["revision"] == began), "both calls' records")
    [hopped] = [r for r in rows(postgres_url, CallRecord) if r["revision"] == began]
    assert hopped["lang"] == "en" and hopped["outcome"] == "goodbye" and hopped["duration"] == 80
    revisions = {r["revision"] for r in rows(postgres_url, MenuRevisionRecord)}
    assert began in revisions and len(revisions) == 2
