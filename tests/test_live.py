"""Changing the menu while the service runs: new calls get the change, calls in progress
finish on their own version, and a broken file never replaces a good one."""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from conftest import MENU_PATH, WEEKDAY_MORNING
from ivr.web import create_app

OLD_MAIN = "Please choose from the following."
NEW_MAIN = "Please listen carefully, our options have changed."


def make_app(menu: Path, archive: Path) -> Flask:
    return create_app(str(menu), clock=lambda: WEEKDAY_MORNING,
                      config={"ALLOW_UNSIGNED": True, "STATE_SECRET": "live", "MENU_ARCHIVE": str(archive),
                              "MENU_CHECK_INTERVAL": 0})


def save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 10_000_000  # a later mtime even on coarse file systems
    os.utime(path, ns=(stamp, stamp))


def says(reply: Any) -> list[str]:
    return [s.text or "" for s in ET.fromstring(reply.get_data(as_text=True)).iter("Say")]


def action(reply: Any) -> str:
    return ET.fromstring(reply.get_data(as_text=True)).find("Gather").get("action")  # type: ignore[union-attr]


@pytest.fixture
def menu(tmp_path: Path) -> Path:
    path = tmp_path / "free_dial.yaml"
    save(path, MENU_PATH.read_text(encoding="utf-8"))
    return path


def edited(text: str) -> str:
    return text.replace(OLD_MAIN, NEW_MAIN).replace('version: "2026.11.1"', 'version: "2026.11.2"')


def test_a_saved_change_serves_the_next_call_while_calls_in_progress_keep_theirs(menu: Path, tmp_path: Path) -> None:
    client = make_app(menu, tmp_path / "archive").test_client()
    ongoing = action(client.post("/voice", data={"CallSid": "CAold"}))
    save(menu, edited(menu.read_text(encoding="utf-8")))
    fresh = client.post(action(client.post("/voice", data={"CallSid": "CAnew"})), data={"CallSid": "CAnew", "Digits": "2"})
    assert any(NEW_MAIN in s for s in says(fresh))
    old = client.post(ongoing, data={"CallSid": "CAold", "Digits": "2"})
    assert any(OLD_MAIN in s for s in says(old)) and not any(NEW_MAIN in s for s in says(old))
    assert client.get("/health").json["version"] == "2026.11.2"  # type: ignore[index]


def test_a_broken_change_is_refused_and_logged_with_its_line(menu: Path, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    client = make_app(menu, tmp_path / "archive").test_client()
    good = menu.read_text(encoding="utf-8")
    for broken in (good.replace("next: fraud_warning", "next: fraud"),       # link to nowhere
                   good.replace("  main:\n    type: menu", "  main:\n    type: menu:"),  # YAML syntax
                   good.replace('weekdays: "09:30-20:00"', 'weekdays: "9:30-20"')):  # a bad time
        with caplog.at_level(logging.ERROR, logger="ivr.live"):
            save(menu, edited(broken))
            reply = client.post("/voice", data={"CallSid": "CA1"})
        assert reply.status_code == 200
        assert client.get("/health").json["version"] == "2026.11.1"  # type: ignore[index]
        assert "menu change refused, still serving 2026.11.1+" in caplog.text
        assert f"{menu}:" in caplog.text
        caplog.clear()
    save(menu, edited(good))
    client.post("/voice", data={"CallSid": "CA2"})
    assert client.get("/health").json["version"] == "2026.11.2"  # type: ignore[index]


def test_a_worker_that_never_saw_the_old_menu_finds_it_in_the_archive(menu: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    first = make_app(menu, archive).test_client()
    ongoing = action(first.post("/voice", data={"CallSid": "CAold"}))
    save(menu, edited(menu.read_text(encoding="utf-8")))
    second = make_app(menu, archive).test_client()  # started after the change
    old = second.post(ongoing, data={"CallSid": "CAold", "Digits": "2"})
    assert any(OLD_MAIN in s for s in says(old))


def test_a_broken_menu_at_start_is_refused(menu: Path, tmp_path: Path) -> None:
    from ivr.errors import MenuError

    save(menu, menu.read_text(encoding="utf-8").replace("next: fraud_warning", "next: fraud"))
    with pytest.raises(MenuError, match="leads to node 'fraud'"):
        make_app(menu, tmp_path / "archive")
