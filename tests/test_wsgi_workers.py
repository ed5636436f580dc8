"""Whole calls of every branch in every language through gunicorn with several workers."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from gunicorn_server import serve
from support import ROOT, WEEKDAY_MORNING, scenario_scripts, transcript

from ivr.engine import Engine
from ivr.simulator import EngineLine, parse_script, play
from ivr.wire import WireLine, http_transport

TOKEN = "workers-test-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    env = {"IVR_TWILIO_AUTH_TOKEN": TOKEN, "IVR_STATE_SECRET": "shared-by-all-workers",
           "IVR_ALLOW_CLOCK_HEADER": "true", "IVR_MENU": str(ROOT / "menus" / "free_dial.yaml")}
    with serve(tmp_path_factory.mktemp("gunicorn"), env, 3, "--access-logformat", "%(p)s %(s)s %(U)s") as running:
        yield running.base, running.access_log, running.error_log


def test_every_branch_in_every_language_matches_the_engine(server: tuple[str, Path, Path], engine: Engine) -> None:
    base, log, _ = server
    for script, at in scenario_scripts():
        direct = list(play(EngineLine(engine, at), parse_script(script)))
        wired = list(play(WireLine(http_transport(base, TOKEN, at), engine.menu), parse_script(script)))
        assert transcript(wired) == transcript(direct), script
    lines = log.read_text().splitlines()
    workers = {line.split()[0] for line in lines if "/voice/gather" in line}
    assert len(workers) >= 2, "requests of one call should reach different workers"
    assert [line for line in lines if not re.match(r"<\d+> 200 ", line)] == []


def test_unsigned_requests_are_refused_by_the_server(server: tuple[str, Path, Path]) -> None:
    base, _, _ = server
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(base + "/voice", data=b"CallSid=CA1"), timeout=5)
    assert refused.value.code == 403


def test_each_webhook_is_logged_in_the_servers_error_log_without_the_callers_number(
        server: tuple[str, Path, Path], engine: Engine) -> None:
    """Operators read gunicorn's error log: the service's lines go there, at its --log-level (info)."""
    base, _, errors = server
    line = WireLine(http_transport(base, TOKEN, WEEKDAY_MORNING), engine.menu, caller="+819012345678")
    list(play(line, parse_script("2 wait 1")))  # each line is written, and flushed, before its answer
    ours = [entry for entry in errors.read_text().splitlines() if f"call={line.sid} " in entry]
    steps = [entry.split(f"call={line.sid} ", 1)[1] for entry in ours]
    assert len(steps) == 4, ours  # start, then one line per key or silence (open: 1 is a transfer)
    revision = json.load(urllib.request.urlopen(base + "/health", timeout=5))["revision"]
    caller = re.fullmatch(rf"caller=([0-9a-f]{{12}}) revision={re.escape(revision)} start -> language listen", steps[0])
    assert caller, steps[0]
    assert all(step.startswith(f"caller={caller.group(1)} revision={revision} ") for step in steps)
    assert "[INFO]" in ours[0] and "9012345678" not in errors.read_text()
