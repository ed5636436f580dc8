"""The `ivr` command as a whole: one --menu for every subcommand, --version, -h, lint's single
stream, progress only on a terminal, and `ivr serve`."""

from __future__ import annotations

import json

import os
import pty
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support import MENU_PATH, ROOT
from test_check import TINY

from ivr.check import check, moments
from ivr.cli import cli
from ivr.loader import load_menu


def ivr(*args: str, env: dict[str, str | None] | None = None) -> Any:
    return CliRunner(env={"IVR_MENU": None, **(env or {})}).invoke(cli, list(args))


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


# -- one way to name the menu ------------------------------------------------------------------
@pytest.mark.parametrize("how", ["before", "after", "env"])
def test_every_command_takes_the_menu_the_same_way(tiny: Path, how: str, tmp_path: Path) -> None:
    def run(*command: str) -> Any:
        if how == "before":
            return ivr("--menu", str(tiny), *command)
        if how == "after":
            return ivr(*command, "--menu", str(tiny))
        return ivr(*command, env={"IVR_MENU": str(tiny)})

    assert run("lint").stdout == f"{tiny}: OK\n"
    assert run("check").stdout.rstrip().endswith(f"{tiny}: OK")
    sim = run("sim", "--script", "1", "--at", "2026-12-07T10:00")
    assert sim.exit_code == 0 and "Call to Tiny (menu version 1)" in sim.stdout
    graph = run("graph", "-o", str(tmp_path / "tiny.dot"))
    assert graph.exit_code == 0 and graph.stdout.startswith(f"{tmp_path / 'tiny.dot'}: ")
    test = run("test", str(ROOT / "tests" / "scenarios" / "hours.yaml"))
    assert f"(menu version 1, {tiny})" in test.stdout  # the scenarios are the free dial's: they fail on Tiny


def test_the_option_after_the_command_wins(tiny: Path) -> None:
    result = ivr("--menu", str(MENU_PATH), "lint", "--menu", str(tiny))
    assert result.exit_code == 0 and result.stdout == f"{tiny}: OK\n"


def test_commands_that_read_only_a_menu_also_take_it_as_an_argument(tiny: Path) -> None:
    """`ivr lint menus/x.yaml`, as operators and the team's scripts type it, is `--menu`."""
    assert ivr("lint", str(tiny)).stdout == ivr("lint", "--menu", str(tiny)).stdout == f"{tiny}: OK\n"
    as_argument, as_option = (json.loads(ivr("check", *how, "--json").stdout) for how in ([str(tiny)], ["--menu", str(tiny)]))
    del as_argument["elapsed"], as_option["elapsed"]  # the one figure that is the machine's, not the menu's
    assert as_argument == as_option and as_argument["file"] == str(tiny)
    refused = ivr("sim", str(tiny))  # a command with more to say than a menu keeps to --menu
    assert refused.exit_code == 2 and "Got unexpected extra argument" in refused.output


def test_at_takes_the_time_zone_of_the_menu_given_after_it(tmp_path: Path) -> None:
    elsewhere = tmp_path / "utc.yaml"
    elsewhere.write_text(TINY.replace("default_language: en}", "default_language: en, timezone: UTC}"), encoding="utf-8")
    result = ivr("sim", "--at", "2026-12-07T10:00", "--script", "", "--menu", str(elsewhere))
    assert result.exit_code == 0, result.output
    assert "at 2026-12-07T10:00+00:00\n" in result.stdout
    result = ivr("sim", "--script", "", "--menu", str(elsewhere))
    assert "(now, UTC time; use --at to choose)" in result.stdout


def test_version_from_the_package_metadata() -> None:
    result = ivr("--version")
    assert result.exit_code == 0 and result.stdout == f"ivr {version('ivr-toolkit')}\n"


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["sim", "-h"], ["prompts", "render", "-h"]])
def test_short_and_long_help(args: list[str]) -> None:
    result = ivr(*args)
    assert result.exit_code == 0 and result.stdout.startswith("Usage: ivr ")
    assert "-h, --help" in result.stdout and "--menu PATH" in result.stdout


# -- lint: one stream --------------------------------------------------------------------------
def test_lint_prints_its_problems_and_summary_on_stdout(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.replace('"2": bye', '"2": by'), encoding="utf-8")
    result = ivr("lint", "--menu", str(bad))
    assert result.exit_code == 1 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert "leads to node 'by'" in lines[0] and lines[-1] == f"{bad}: 1 error(s), 0 warning(s)"


# -- progress: on a terminal only ----------------------------------------------------------------
def test_check_reports_progress_per_moment() -> None:
    menu = load_menu(MENU_PATH)
    calls: list[tuple[int, int, str]] = []
    check(menu, lambda done, total, label: calls.append((done, total, label)))
    explored = [m.label for m in moments(menu) if m.same_as is None]
    assert calls == [(i, len(explored), label) for i, label in enumerate(explored)] + [(len(explored), len(explored), "")]


def test_check_shows_no_progress_off_a_terminal_or_with_json(tiny: Path) -> None:
    for args in (["check"], ["check", "--json"]):
        result = ivr("--menu", str(tiny), *args)
        assert result.exit_code == 0 and result.stderr == ""


def test_check_shows_progress_on_a_terminal(tiny: Path) -> None:
    """stderr on a pseudo-terminal: a progress bar there, the report alone on stdout."""
    leader, follower = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "ivr", "--menu", str(tiny), "check"], stdout=subprocess.PIPE,
                              stderr=follower, cwd=ROOT, timeout=120, check=False, env={**os.environ, "COLUMNS": "100"})
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert done.returncode == 0 and done.stdout.decode().rstrip().endswith(f"{tiny}: OK")
    assert "Checking every path" not in done.stdout.decode()
    text, explored = shown.decode(), sum(m.same_as is None for m in moments(load_menu(tiny)))
    assert "Checking every path" in text and f"0/{explored}  at weekday 10:00" in text
    assert f"]  {explored}/{explored}" in text


# -- serve -------------------------------------------------------------------------------------
def test_serve_runs_the_service_with_werkzeug(monkeypatch: pytest.MonkeyPatch, tiny: Path) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr("werkzeug.serving.run_simple",
                        lambda host, port, app, **options: served.update(host=host, port=port, app=app))
    result = ivr("--menu", str(tiny), "serve", "--port", "8123", "--allow-unsigned",
                 env={"IVR_TWILIO_AUTH_TOKEN": None, "IVR_MENU_ARCHIVE": str(tiny.parent / "archive"),
                      "IVR_MENU_CHECK_INTERVAL": "0"})
    assert result.exit_code == 0, result.output
    assert (served["host"], served["port"]) == ("127.0.0.1", 8123)
    assert "http://127.0.0.1:8123/voice" in result.stderr and "gunicorn app:app" in result.stderr
    health = served["app"].test_client().get("/health")
    assert health.status_code == 200 and health.json["menu"] == "Tiny"


def test_serve_without_a_token_says_how_to_start(monkeypatch: pytest.MonkeyPatch, tiny: Path) -> None:
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda *args, **kwargs: pytest.fail("must not start"))
    result = ivr("--menu", str(tiny), "serve",
                 env={"IVR_TWILIO_AUTH_TOKEN": None, "IVR_TWILIO_SHARED_KEY": None, "IVR_ALLOW_UNSIGNED": None,
                      "IVR_MENU_ARCHIVE": str(tiny.parent / "archive"), "IVR_MENU_CHECK_INTERVAL": "0"})
    assert result.exit_code == 1 and "no Twilio auth token" in result.output and "--allow-unsigned" in result.output


def test_serve_help_points_to_gunicorn_for_production() -> None:
    result = ivr("serve", "--help")
    assert result.exit_code == 0 and "gunicorn app:app" in result.stdout and "--port" in result.stdout


@pytest.mark.parametrize("args", [["lint"], ["sim", "--script", "1", "--at", "2022-07-01T10:00"]], ids=["lint", "sim"])
def test_commands_that_serve_nothing_start_without_the_service(args: list[str]) -> None:
    """`ivr lint` and `ivr sim` start in a fraction of a second: they load neither Flask, werkzeug
    nor twilio (the service), nor the checker and the scenario runner; lint not even the engine."""
    code = ("import sys; from click.testing import CliRunner; from ivr.cli import cli; "
            f"r = CliRunner().invoke(cli, {args!r}); assert r.exit_code == 0, r.output; "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'werkzeug', 'twilio', 'transitions') or m in ('ivr.check', 'ivr.scenarios', 'ivr.web'))))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert {m.split(".")[0] for m in loaded.split()} == (set() if args == ["lint"] else {"transitions"})
