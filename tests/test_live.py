"""Changing the menu while the service runs: new calls get the change, calls in progress
finish on their own version, a broken file never replaces a good one, and a worker that
starts while the file is broken serves the newest good revision instead of failing.

Each app here is one worker; `refresh` is what its watcher thread does every second."""

from __future__ import annotations

import logging
import os
import signal
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from support import MENU_PATH, WEEKDAY_MORNING

from ivr.errors import MenuError
from ivr.web import create_app

OLD_MAIN = "Please choose from the following."
NEW_MAIN = "Please listen carefully, our options have changed."
SORRY_JA = "申し訳ありません。最初のメニューからやり直します。"


def make_app(menu: Path, archive: Path, interval: float = 0) -> Flask:
    return create_app(str(menu), clock=lambda: WEEKDAY_MORNING,
                      config={"ALLOW_UNSIGNED": True, "STATE_SECRET": "live", "MENU_ARCHIVE": str(archive),
                              "MENU_CHECK_INTERVAL": interval})


def refresh(app: Flask) -> None:
    app.extensions["ivr"].store.refresh()


def save(path: Path, text: str | bytes) -> None:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 10_000_000  # a later mtime even on coarse file systems
    os.utime(path, ns=(stamp, stamp))


def says(reply: Any) -> list[str]:
    return [s.text or "" for s in ET.fromstring(reply.get_data(as_text=True)).iter("Say")]


def action(reply: Any) -> str:
    return ET.fromstring(reply.get_data(as_text=True)).find("Gather").get("action")  # type: ignore[union-attr]


def version(app: Flask) -> str:
    return str(app.test_client().get("/health").json["version"])  # type: ignore[index]


@pytest.fixture
def menu(tmp_path: Path) -> Path:
    path = tmp_path / "free_dial.yaml"
    save(path, MENU_PATH.read_text(encoding="utf-8"))
    return path


def edited(text: str) -> str:
    return text.replace(OLD_MAIN, NEW_MAIN).replace('version: "2026.11.1"', 'version: "2026.11.2"')


def broken(text: str) -> str:
    return edited(text).replace("next: fraud_warning", "next: fraud")


def test_a_saved_change_serves_the_next_call_while_calls_in_progress_keep_theirs(menu: Path, tmp_path: Path) -> None:
    app = make_app(menu, tmp_path / "archive")
    client = app.test_client()
    ongoing = action(client.post("/voice", data={"CallSid": "CAold"}))
    save(menu, edited(menu.read_text(encoding="utf-8")))
    refresh(app)
    fresh = client.post(action(client.post("/voice", data={"CallSid": "CAnew"})), data={"CallSid": "CAnew", "Digits": "2"})
    assert any(NEW_MAIN in s for s in says(fresh))
    old = client.post(ongoing, data={"CallSid": "CAold", "Digits": "2"})
    assert any(OLD_MAIN in s for s in says(old)) and not any(NEW_MAIN in s for s in says(old))
    assert version(app) == "2026.11.2"


def test_a_webhook_never_loads_the_file_itself(menu: Path, tmp_path: Path) -> None:
    """Loading a menu (lint and build) takes up to a second: the watcher does it, not a caller's request."""
    app = make_app(menu, tmp_path / "archive")
    save(menu, edited(menu.read_text(encoding="utf-8")))
    reply = app.test_client().post(action(app.test_client().post("/voice", data={"CallSid": "CA1"})),
                                   data={"CallSid": "CA1", "Digits": "2"})
    assert any(OLD_MAIN in s for s in says(reply)) and version(app) == "2026.11.1"
    refresh(app)
    assert version(app) == "2026.11.2"


def test_the_watcher_thread_takes_a_save_without_any_request(menu: Path, tmp_path: Path) -> None:
    app = make_app(menu, tmp_path / "archive", interval=0.05)
    store = app.extensions["ivr"].store
    store.current()  # starts this process's watcher
    save(menu, edited(menu.read_text(encoding="utf-8")))
    for _ in range(400):  # a bound on waiting, not a speed asserted: it normally takes one interval
        if store.current().engine.menu.menu.version == "2026.11.2":
            break
        time.sleep(0.05)
    assert store.current().engine.menu.menu.version == "2026.11.2"


def test_a_broken_change_is_refused_and_logged_once_with_its_line(menu: Path, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(menu, tmp_path / "archive")
    client = app.test_client()
    good = menu.read_text(encoding="utf-8")
    for bad in (good.replace("next: fraud_warning", "next: fraud"),       # link to nowhere
                good.replace("  main:\n    type: menu", "  main:\n    type: menu:"),  # YAML syntax
                good.replace('weekdays: "09:30-20:00"', 'weekdays: "9:30-20"')):  # a bad time
        with caplog.at_level(logging.ERROR, logger="ivr.live"):
            save(menu, edited(bad))
            refresh(app)
            refresh(app)
            reply = client.post("/voice", data={"CallSid": "CA1"})
        assert reply.status_code == 200
        assert version(app) == "2026.11.1"
        assert caplog.text.count("menu change refused, still serving 2026.11.1+") == 1
        assert f"{menu}:" in caplog.text
        assert client.get("/health").json["menu_file"].startswith("refused (")  # type: ignore[index]
        caplog.clear()
    save(menu, edited(good))
    refresh(app)
    assert version(app) == "2026.11.2"
    assert client.get("/health").json["menu_file"] == "in service"  # type: ignore[index]


def test_a_worker_that_never_saw_the_old_menu_finds_it_in_the_archive(menu: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    first = make_app(menu, archive).test_client()
    ongoing = action(first.post("/voice", data={"CallSid": "CAold"}))
    save(menu, edited(menu.read_text(encoding="utf-8")))
    second = make_app(menu, archive).test_client()  # started after the change
    old = second.post(ongoing, data={"CallSid": "CAold", "Digits": "2"})
    assert any(OLD_MAIN in s for s in says(old))


@pytest.mark.parametrize("damage", ["broken", "deleted", "not UTF-8", "a folder"])
def test_a_worker_restarting_on_a_damaged_file_serves_the_newest_good_revision(
        menu: Path, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    """Gunicorn shuts the whole service down when a new worker fails to boot: it must not."""
    archive = tmp_path / "archive"
    running = make_app(menu, archive)
    save(menu, edited(menu.read_text(encoding="utf-8")))
    refresh(running)  # the newest good revision: 2026.11.2
    if damage == "broken":
        save(menu, broken(menu.read_text(encoding="utf-8")))
    elif damage == "deleted":
        menu.unlink()
    elif damage == "not UTF-8":
        save(menu, b"\xff\xfe menu")
    else:
        menu.unlink()
        menu.mkdir()
    with caplog.at_level(logging.CRITICAL, logger="ivr.live"):
        restarted = make_app(menu, archive)
    assert version(restarted) == "2026.11.2"
    assert f"{menu} cannot be served; serving 2026.11.2+" in caplog.text
    reply = restarted.test_client().post(action(restarted.test_client().post("/voice", data={"CallSid": "CA1"})),
                                         data={"CallSid": "CA1", "Digits": "2"})
    assert any(NEW_MAIN in s for s in says(reply))


def test_a_first_start_with_no_good_revision_anywhere_is_refused(menu: Path, tmp_path: Path) -> None:
    save(menu, menu.read_text(encoding="utf-8").replace("next: fraud_warning", "next: fraud"))
    with pytest.raises(MenuError, match="leads to node 'fraud'"):
        make_app(menu, tmp_path / "archive")
    menu.unlink()
    with pytest.raises(MenuError, match="cannot read the menu file"):
        make_app(menu, tmp_path / "archive")


def test_workers_converge_on_the_newest_good_revision(menu: Path, tmp_path: Path) -> None:
    """A good save then a broken one: a worker that saw only the broken file follows the
    revision another worker took, so every new call hears the same menu."""
    archive = tmp_path / "archive"
    quick, slow = make_app(menu, archive), make_app(menu, archive)
    save(menu, edited(menu.read_text(encoding="utf-8")))
    refresh(quick)
    save(menu, broken(menu.read_text(encoding="utf-8")))
    refresh(slow)  # sees only the broken file, and follows the archive
    refresh(quick)
    assert version(quick) == version(slow) == "2026.11.2"


def test_a_call_goes_on_when_its_revision_cannot_be_found(menu: Path, tmp_path: Path) -> None:
    """An archive that cannot be written: a call begun on a revision another worker lacks goes
    on (in the caller's language) instead of restarting with an apology."""
    blocker = tmp_path / "a file"
    blocker.write_text("")
    first, second = make_app(menu, blocker / "archive"), make_app(menu, blocker / "archive")
    assert first.test_client().get("/health").json["archive"] == "not writable"  # type: ignore[index]
    save(menu, edited(menu.read_text(encoding="utf-8")))
    refresh(first)
    english = first.test_client().post(action(first.test_client().post("/voice", data={"CallSid": "CA1"})),
                                       data={"CallSid": "CA1", "Digits": "2"})  # English, on 2026.11.2
    reply = second.test_client().post(action(english), data={"CallSid": "CA1", "Digits": "9"})  # 9: main menu
    assert SORRY_JA not in says(reply) and any(OLD_MAIN in s for s in says(reply))


def test_a_forked_worker_watches_on_its_own_even_if_the_parent_held_the_lock(menu: Path, tmp_path: Path) -> None:
    """gunicorn --preload forks workers from a master that loaded the app (and runs a watcher)."""
    app = make_app(menu, tmp_path / "archive", interval=0.05)
    store = app.extensions["ivr"].store
    save(menu, edited(menu.read_text(encoding="utf-8")))
    with store._lock:  # the parent's watcher is in the middle of a refresh at the fork
        pid = os.fork()
        if pid == 0:  # the worker: it must take the save by itself, whatever the parent's lock
            signal.alarm(60)  # a worker stuck on the parent's lock dies instead of hanging the suite
            for _ in range(400):
                if store.current().engine.menu.menu.version == "2026.11.2":
                    os._exit(0)
                time.sleep(0.05)
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
