"""`ivr sim` as staff use it: scripted and interactive calls, JSON events, clear errors."""

from __future__ import annotations

import json
from itertools import takewhile
from pathlib import Path

from click.testing import CliRunner
from support import MENU_PATH

from ivr.cli import cli, columns, wrap


def sim(*args: str, input: str | None = None, columns: int | None = None) -> tuple[int, str]:
    """`ivr sim` on the free dial; not a terminal, so lines are wrapped only to `columns` ($COLUMNS)."""
    env = {"COLUMNS": str(columns) if columns else None}  # None: unset, whatever the shell exported
    result = CliRunner(env=env).invoke(cli, ["sim", "--menu", str(MENU_PATH), *args], input=input)
    return result.exit_code, result.output


def test_scripted_call_prints_where_it_went() -> None:
    code, out = sim("--script", "2 2", "--at", "2026-12-06T03:00+09:00")
    assert code == 0
    assert "[en] Connecting you to suspend a lost or stolen card." in out
    assert out.rstrip().endswith("-> TRANSFER to +81120950178 (lost_desk)\n"
                                 "-> staff answered: the call is theirs; end of the simulation")


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
    assert code == 0 and first["lang"] == "pt" and first["prompt"] == "lost_card_first"


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


def test_bad_date_is_a_usage_error_naming_the_option() -> None:
    code, out = sim("--script", "2", "--at", "tomorrow")
    assert code == 2 and "Usage: ivr sim [OPTIONS]" in out
    assert "Error: Invalid value for '--at': 'tomorrow' is not a date and time; write e.g. 2026-12-07T10:00" in out


def test_at_is_read_in_the_menu_time_zone() -> None:
    code, out = sim("--script", "2 1", "--at", "2026-12-07T01:00+00:00")  # 10:00 in Tokyo: open
    assert code == 0 and "at 2026-12-07T10:00+09:00\n" in out and "(now" not in out
    assert "-> TRANSFER to +81120950178 (card_desk)" in out
    code, out = sim("--script", "2 1", "--at", "2026-12-07T21:00")  # no offset: Tokyo time, closed
    assert code == 0 and "at 2026-12-07T21:00+09:00\n" in out and "(after_hours" in out


def test_without_at_the_header_says_the_call_is_now_in_japan() -> None:
    code, out = sim("--script", "")  # the language choice does not depend on the time
    assert code == 0 and "(now, Japan time; use --at to choose)" in out.splitlines()[0]


def test_the_wait_for_a_key_says_when_silence_comes() -> None:
    code, out = sim("--script", "2", "--at", "2026-12-07T10:00")
    assert code == 0 and "  ... waiting for a key or speech (main; silence after 6 s)\n" in out
    assert "(6 s" not in out


def test_busy_where_nothing_rings_is_a_clear_error() -> None:
    code, out = sim("--script", "2 busy", "--at", "2026-12-07T10:00")
    assert code == 1 and "Error: busy only follows a transfer, but the call waits for a key or speech at main" in out


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


# -- word wrapping ---------------------------------------------------------------------------
def test_prompts_wrap_at_spaces_to_the_width_with_an_indent() -> None:
    code, out = sim("--script", "2", "--at", "2026-12-07T10:00", columns=50)
    lines = out.splitlines()
    assert code == 0 and all(columns(line) <= 50 for line in lines)
    start = lines.index(next(line for line in lines if line.startswith("  [en] This is the My Number free dial.")))
    block = [lines[start]] + list(takewhile(lambda line: line.startswith("       ") and line[7] != " ", lines[start + 1:]))
    assert len(block) > 5
    said = " ".join(line[7:] for line in block)  # the indent is the width of "  [en] "
    assert said.startswith("This is the My Number free dial. Beware of fraud. Ministry officials and officials")
    assert "your city, town or village" in said and "0120-95-0178, option 5." in said


def test_japanese_wraps_by_width_between_characters() -> None:
    code, out = sim("--script", "1", "--at", "2026-12-07T10:00", columns=40)
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  [ja] マイナンバー総合"))
    block = [lines[start]] + list(takewhile(lambda line: line.startswith("       "), lines[start + 1:]))
    assert code == 0 and len(block) > 10
    assert all(columns(line) <= 40 for line in block)  # a kanji or kana takes two columns
    assert sum(columns(line) >= 37 for line in block) > 10  # broken between characters, not only at spaces
    assert all(line[7] not in " 、。ー" for line in block[1:])  # no line starts with a space or closing mark
    whole = next(line for line in sim("--script", "1", "--at", "2026-12-07T10:00")[1].splitlines()
                 if line.startswith("  [ja] マイナンバー総合"))
    assert "".join(line[7:] for line in block).replace(" ", "") == whole[7:].replace(" ", "")


def test_not_a_terminal_keeps_an_utterance_on_one_line() -> None:
    code, out = sim("--script", "2", "--at", "2026-12-07T10:00")
    assert code == 0 and any(len(line) > 300 and line.startswith("  [en] This is the My Number") for line in out.splitlines())


def test_wrap_cuts_a_word_longer_than_a_line() -> None:
    assert wrap("a " + "x" * 25, 20, "> ", "  ") == ["> a", "  " + "x" * 18, "  " + "x" * 7]
    assert wrap("", 20, "  [en] ") == ["  [en]"]


# -- typing at the prompt ----------------------------------------------------------------------
def test_enter_at_a_transfer_ends_with_a_final_line() -> None:
    code, out = sim("--at", "2026-12-07T10:00", input="2\n2\n\n")
    assert code == 0 and "(Enter: staff answer and the call ends; busy: nobody answers; q: hang up)" in out
    assert out.rstrip().endswith("-> staff answered: the call is theirs; end of the simulation")


def test_keys_typed_ahead_of_a_transfer_are_not_spent_on_it() -> None:
    code, out = sim("--at", "2026-12-07T10:00", input="2\n22\nbusy\n2\n")
    assert code == 0 and "note: '2' typed ahead was not sent: the call is being transferred" in out
    after = out[out.index("typed ahead"):]  # busy reached the transfer, then 2 at lost_busy ends the call
    assert "... waiting for a key or speech (lost_busy; silence after 6 s)" in after
    assert out.rstrip().endswith("-> HANG UP (goodbye)") and "staff answered" not in out


def test_keys_at_a_transfer_are_refused_and_asked_again() -> None:
    code, out = sim("--at", "2026-12-07T10:00", input="2\n2\n12\n\n")
    assert code == 0
    assert ("note: '12' was not sent: keys and speech do not reach a transfer; press Enter (staff answer), "
            "type busy (nobody answers) or q (hang up)") in out
    assert out.rstrip().endswith("-> staff answered: the call is theirs; end of the simulation")


def test_q_at_a_transfer_hangs_up_and_busy_elsewhere_is_refused() -> None:
    code, out = sim("--at", "2026-12-07T10:00", input="2\nbusy\n2\nq\n")
    assert code == 0
    assert "note: busy was not sent: it only follows a transfer, and the call waits for a key or speech at main" in out
    assert out.rstrip().endswith("-> HANG UP (lost_desk)") and "staff answered" not in out


def test_keys_typed_past_the_end_of_the_call_are_reported() -> None:
    code, out = sim("--at", "2026-12-07T10:00", input="2\n2\nbusy\n22\n")  # 2 at lost_busy: goodbye
    assert code == 0 and out.rstrip().endswith("-> HANG UP (goodbye)\n  note: '2' typed ahead was not sent: the call has ended")
