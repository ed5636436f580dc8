"""The service under gunicorn survives what a running hotline meets: workers killed or timed
out while the menu on disk is broken, saves that every worker must take, and requests
that must leave no caller's data in the logs."""

from __future__ import annotations

import os
import re
import signal
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner
from gunicorn_server import Server, serve, wait_until
from support import MENU_PATH, WEEKDAY_MORNING

from ivr.cli import cli
from ivr.engine import Engine
from ivr.simulator import parse_script, play
from ivr.wire import WireLine, http_transport

TOKEN = "never-down-token"
OLD_MAIN = "Please choose from the following."
NEW_MAIN = "Please listen carefully, our options have changed."


def edited(text: str) -> str:
    return text.replace(OLD_MAIN, NEW_MAIN).replace('version: "2026.11.1"', 'version: "2026.11.2"')


def broken(text: str) -> str:
    return text.replace("next: fraud_warning", "next: fraud")


def save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 10_000_000
    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def menu_file(tmp_path: Path) -> Path:
    path = tmp_path / "menus" / "free_dial.yaml"
    path.parent.mkdir()
    save(path, MENU_PATH.read_text(encoding="utf-8"))
    return path


def environment(menu_file: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"IVR_TWILIO_AUTH_TOKEN": TOKEN, "IVR_STATE_SECRET": "shared", "IVR_MENU": str(menu_file),
            "IVR_MENU_ARCHIVE": str(tmp_path / "archive"), "IVR_MENU_CHECK_INTERVAL": "0.2",
            "IVR_ALLOW_CLOCK_HEADER": "true", **extra}


def answers_calls(server: Server, engine: Engine, times: int = 6) -> bool:
    """Whole calls (language, main menu, a transfer) answered, with several to reach every worker."""
    for _ in range(times):
        events = list(play(WireLine(http_transport(server.base, TOKEN, WEEKDAY_MORNING), engine.menu),
                           parse_script("2 1")))
        if events[-1]["type"] != "transfer":
            return False
    return True


@pytest.fixture
def running(menu_file: Path, tmp_path: Path) -> Iterator[Server]:
    with serve(tmp_path, environment(menu_file, tmp_path), 2) as server:
        yield server


def test_a_worker_killed_while_the_menu_is_broken_comes_back_serving(
        running: Server, menu_file: Path, engine: Engine) -> None:
    save(menu_file, broken(menu_file.read_text(encoding="utf-8")))
    wait_until(lambda: str(running.health()["menu_file"]).startswith("refused"), "the refusal")
    for damage in ("broken", "deleted"):
        if damage == "deleted":
            menu_file.unlink()
        before = running.workers()
        os.kill(min(before), signal.SIGKILL)
        wait_until(lambda: len(running.workers() - before) == 1 and len(running.workers()) == 2, "a new worker")
        assert running.process.poll() is None, running.error_log.read_text()
        assert answers_calls(running, engine)
    log = running.error_log.read_text()
    assert "cannot be served; serving 2026.11.1+" in log and "Worker failed to boot" not in log


def test_worker_timeouts_with_a_refused_menu_do_not_stop_the_service(
        menu_file: Path, tmp_path: Path, engine: Engine) -> None:
    """Two slow clients hold both sync workers past --timeout: gunicorn kills and replaces them."""
    with serve(tmp_path, environment(menu_file, tmp_path), 2, "--timeout", "3") as running:
        held_past_the_timeout(running, menu_file, engine)


def held_past_the_timeout(running: Server, menu_file: Path, engine: Engine) -> None:
    save(menu_file, broken(menu_file.read_text(encoding="utf-8")))
    wait_until(lambda: str(running.health()["menu_file"]).startswith("refused"), "the refusal")
    before = running.workers()
    port = int(running.base.rsplit(":", 1)[1])
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    try:
        for sock in slow:
            sock.sendall(b"POST /voice HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and then nothing
        wait_until(lambda: not (running.workers() & before) and len(running.workers()) == 2, "replaced workers", 60)
    finally:
        for sock in slow:
            sock.close()
    assert running.process.poll() is None, running.error_log.read_text()
    assert answers_calls(running, engine)
    assert "WORKER TIMEOUT" in running.error_log.read_text()


def test_every_worker_takes_a_save_and_refuses_a_broken_one_once(menu_file: Path, tmp_path: Path) -> None:
    """Each worker's watcher takes the save whatever traffic it gets (here: none at all)."""
    with serve(tmp_path, environment(menu_file, tmp_path), 4, "--log-level", "info") as server:
        workers = server.workers()

        def booted() -> set[int]:
            return {int(pid) for pid in re.findall(r"\[(\d+)\] \[INFO\] serving menu ", server.error_log.read_text())}

        wait_until(lambda: booted() == workers, "every worker to load the menu")
        save(menu_file, edited(menu_file.read_text(encoding="utf-8")))

        def taken_by() -> set[int]:
            return {int(pid) for pid in re.findall(r"\[(\d+)\] \[INFO\] menu 2026\.11\.2\+\S+ now in service",
                                                     server.error_log.read_text())}

        wait_until(lambda: taken_by() == workers, "every worker to take the save")
        save(menu_file, broken(menu_file.read_text(encoding="utf-8")))

        def refused_by() -> list[int]:
            return [int(pid) for pid in re.findall(r"\[(\d+)\] \[ERROR\] menu change refused, still serving 2026\.11\.2",
                                                   server.error_log.read_text())]

        wait_until(lambda: set(refused_by()) == workers, "every worker to refuse the broken save")
        wait_until(lambda: all(server.health()["version"] == "2026.11.2" for _ in range(8)), "the good revision")
        assert sorted(refused_by()) == sorted(workers)  # once each, however many requests follow


def test_get_webhooks_leave_no_number_in_any_log(running: Server) -> None:
    query = "From=%2B819012345678&Caller=%2B819012345678&SpeechResult=my+secret&restarts=%C2%B2"
    for path in ("/voice", "/voice/gather", "/voice/status", "/anything"):
        for method in ("GET", "POST"):
            request = urllib.request.Request(f"{running.base}{path}?{query}", method=method,
                                             data=b"" if method == "POST" else None)
            try:
                urllib.request.urlopen(request, timeout=5).close()
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            assert status < 500, (method, path)
    logs = running.access_log.read_text() + running.error_log.read_text()
    assert "9012345678" not in logs and "secret" not in logs and "Traceback" not in logs


def test_sim_against_a_server_with_a_public_url_says_what_to_sign(menu_file: Path, tmp_path: Path) -> None:
    public = "https://ivr.example.jp"
    with serve(tmp_path, environment(menu_file, tmp_path, IVR_PUBLIC_URL=public, IVR_ALLOW_CLOCK_HEADER="false")) as server:
        def sim(*options: str) -> tuple[int, str]:
            result = CliRunner().invoke(cli, ["sim", "--menu", str(menu_file), "--url", server.base, "--auth-token", TOKEN,
                                              "--script", "2", *options], env={"IVR_PUBLIC_URL": ""})
            return result.exit_code, result.output

        code, out = sim()
        assert code == 1 and f"refused: bad signature (the server checks signatures for URL {public}/voice" in out
        code, out = sim("--public-url", public)
        assert code == 0 and "Please choose from the following." in out
        code, out = sim("--public-url", public, "--at", "2026-12-06T23:00")
        assert code == 1 and "ignores the time asked for (--at)" in out
