"""`ivr sim` as staff use it: scripted and interactive calls, JSON events, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from support import MENU_PATH

from ivr.cli import cli


def sim(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["sim", "--menu", str(MENU_PATH), *args], input=input)
    return result.exit_code, result.output


def test_scripted_call_prints_where_it_went() -> None:
    code, out = sim("--script", "2 2", "--at", "2026-12-06T03:00+09:00")
    assert code == 0
    assert "[en] We will help you suspend a lost or stolen My Number card." in out
    assert out.rstrip().endswith("-> TRANSFER to +81120950178 (lost_desk)")


def test_json_events() -> None:
    code, out = sim("--json", "--script", "2 1 wait hangup", "--at", "2026-12-07T21:00")
    events = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert {e["type"] for e in events} == {"say", "listen", "input", "hangup"}
    says = [e for e in events if e["type"] == "say"]
    assert all({"text", "lang", "spoken", "prompt"} <= set(e) for e in says)
    assert [e["kind"] for e in events if e["type"] == "input"] == ["key", "key", "silence", "hangup"]
    assert events[-1] == {"type": "hangup", "node": "after_hours"}


def test_lang_preselects() -> None:
    code, out = sim("--lang", "pt", "--script", "", "--json")
    first = json.loads(out.splitlines()[0])
    assert code == 0 and first["lang"] == "pt" and first["prompt"] == "fraud_warning"


def test_interactive_call() -> None:
    code, out = sim("--at", "2026-12-07T10:00", input="2\n\n5\nq\n")
    assert code == 0
    assert "Sorry, we did not hear a choice." in out
    assert "Mynapoint." in out and "-> HANG UP (mynapoint)" in out


def test_interactive_end_of_input_hangs_up() -> None:
    code, out = sim(input="")
    assert code == 0 and "-> HANG UP (language)" in out


def test_bad_token_is_a_clear_error() -> None:
    code, out = sim("--script", "2 press5")
    assert code == 1 and "Error: script token 2 'press5' is not understood" in out
    assert "Traceback" not in out


def test_bad_date_is_a_clear_error() -> None:
    code, out = sim("--script", "2", "--at", "tomorrow")
    assert code == 1 and "Error: --at 'tomorrow' is not a date and time" in out


def test_bad_language() -> None:
    code, out = sim("--script", "2", "--lang", "fr")
    assert code == 2 and "'fr' is not one of ja, en, zh, ko, es, pt" in out


def test_broken_menu_gives_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "menu.yaml"
    bad.write_text(MENU_PATH.read_text(encoding="utf-8").replace("next: fraud_warning", "next: fraud"),
                   encoding="utf-8")
    result = CliRunner().invoke(cli, ["sim", "--menu", str(bad), "--script", "1"])
    assert result.exit_code == 1
    assert f"{bad}:" in result.output and "leads to node 'fraud', which does not exist" in result.output
    assert "Traceback" not in result.output


def test_tokens_after_the_end_are_reported() -> None:
    code, out = sim("--script", "2 2 1 1", "--at", "2026-12-07T10:00")
    assert code == 0 and "the call ended; 2 script token(s) left unused" in out
