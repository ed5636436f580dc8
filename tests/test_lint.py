"""`ivr lint` finds each kind of broken file and points at the line to fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli import cli
from ivr.loader import check_text

GOOD = """\
menu: {name: Tiny, version: "1", start: main, main_menu: main, operator: desk, default_language: en}
languages:
  en: {name: English, say_language: en-US, voice: Polly.Joanna, speech: en-US, yes: ["yes"], no: ["no"]}
hours:
  office: {timezone: Asia/Tokyo, weekdays: "09:00-17:00"}
prompts:
  invalid_key: {en: Sorry.}
  no_input: {en: Sorry.}
  not_understood: {en: Sorry.}
  restart: {en: Again.}
nodes:
  main:
    type: menu
    say: {en: Press 1 for staff or 2 to leave.}
    choices:
      "1": desk
      "2": bye
  desk:
    type: transfer
    to: "+81120950178"
    hours: office
    closed: bye
    unanswered: bye
  bye:
    type: hangup
    say: {en: Goodbye.}
"""


def problems(text: str) -> list[str]:
    _, found = check_text(text, "menu.yaml")
    return [str(p) for p in found]


def only(text: str, pattern: str, line: int, severity: str = "error") -> None:
    found = problems(text)
    assert len(found) == 1, found
    assert found[0].startswith(f"menu.yaml:{line}: {severity}: "), found
    assert re.search(pattern, found[0]), found


def test_the_good_menu_is_clean() -> None:
    assert problems(GOOD) == []


def test_yaml_syntax_error_gives_the_line() -> None:
    # The parser notices the missing } only at the end of the file (line 27); the { is on line 26.
    only(GOOD.replace('    say: {en: Goodbye.}', '    say: {en: Goodbye.'),
         r"YAML syntax: the \{ opened here is not closed: end it with \} on the same line", 26)


def test_unknown_node_type() -> None:
    only(GOOD.replace("type: hangup", "type: hang_up"), r"unknown node type 'hang_up'.*use one of: menu", 25)


def test_unknown_field() -> None:
    only(GOOD.replace("    closed: bye\n", "    closed: bye\n    colsed: bye\n"), r'unknown field "colsed"', 23)


def test_link_to_a_missing_node() -> None:
    only(GOOD.replace('"2": bye', '"2": by'), r"leads to node 'by', which does not exist", 17)


def test_unreachable_node_is_a_warning() -> None:
    text = GOOD + "  orphan:\n    type: hangup\n    say: {en: Hi.}\n"
    only(text, r"node orphan cannot be reached", 27, "warning")


def test_node_a_call_can_enter_but_never_leave() -> None:
    text = GOOD.replace('"2": bye', '"2": loop') + (
        "  loop:\n    type: menu\n    say: {en: Round.}\n    choices: {\"1\": loop}\n    on_give_up: loop\n"
        "    global_keys: false\n")
    only(text, r"a call that enters node loop can never end", 27)


def test_messages_that_loop_forever() -> None:
    text = GOOD.replace('"2": bye', '"2": a') + (
        "  a: {type: message, say: {en: A.}, next: b}\n  b: {type: message, say: {en: B.}, next: a}\n")
    found = problems(text)
    assert any("messages loop forever: a -> b -> a" in p for p in found), found


def test_prompt_missing_a_language() -> None:
    text = GOOD.replace("languages:\n", "languages:\n  ja: {name: 日本語, say_language: ja-JP, voice: Polly.Mizuki, "
                        "speech: ja-JP, yes: [はい], no: [いいえ]}\n")
    found = problems(text)
    assert "menu.yaml:15: error: node main say has no text for ja; add a line for each language" in found
    assert len(found) == 6  # four engine prompts and two node prompts (the transfer says nothing)


@pytest.mark.parametrize(("hours", "message"), [
    ('"9:00-17:00"', r"is not \"HH:MM-HH:MM\""),
    ('"09:00-25:00"', r"hours run 00-23"),
    ('"17:00-09:00"', r"closes before it opens"),
    ("9:00-17:00", r"is not \"HH:MM-HH:MM\""),
])
def test_bad_times(hours: str, message: str) -> None:
    only(GOOD.replace('"09:00-17:00"', hours), message, 5)


def test_bad_time_zone() -> None:
    only(GOOD.replace("timezone: Asia/Tokyo", "timezone: Asia/Tokio"), r"unknown time zone 'Asia/Tokio'", 5)


def test_duplicate_key_in_a_menu() -> None:
    only(GOOD.replace('      "2": bye', '      "2": bye\n      "1": bye'), r'duplicate key "1" in node main '
         r"choices \(first at line 16\)", 18)


def test_more_than_five_choices_is_a_warning() -> None:
    choices = "".join(f'      "{k}": bye\n' for k in "345678")
    only(GOOD.replace('      "2": bye\n', '      "2": bye\n' + choices), r"offers 8 choices; callers remember at most 5",
         15, "warning")


def test_choice_that_hides_a_global_key() -> None:
    only(GOOD.replace('"2": bye', '"9": bye'), r"key 9 in node main is already the global main_menu key", 17)


def test_transfer_without_closed_branch() -> None:
    only(GOOD.replace("    closed: bye\n", ""), r"add closed:", 18)


def test_unknown_placeholder() -> None:
    only(GOOD.replace("{en: Goodbye.}", '{en: "Goodbye {name}."}'), r"uses \{name\}; placeholders allowed here: none",
         26)


def test_every_problem_at_once() -> None:
    text = GOOD.replace("type: hangup", "type: hang_up").replace("timezone: Asia/Tokyo", "timezone: Nowhere")
    assert len(problems(text)) == 2


# -- the command -------------------------------------------------------------------------
def test_lint_command_on_the_real_menu() -> None:
    result = CliRunner().invoke(cli, ["lint", "--menu", str(Path(__file__).parent.parent / "menus" / "free_dial.yaml")])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(": OK")


def test_lint_command_fails_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace('"2": bye', '"2": by'), encoding="utf-8")
    result = CliRunner().invoke(cli, ["lint", "--menu", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:17: error: node main choices.2 leads to node 'by'" in result.output


def test_lint_command_on_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["lint", "--menu", str(tmp_path / "none.yaml")])
    assert result.exit_code == 1 and "cannot read the menu file" in result.output


def test_retry_settings_belong_to_nodes_that_listen() -> None:
    only(GOOD.replace("    unanswered: bye\n", "    unanswered: bye\n    on_give_up: bye\n"), r'unknown field "on_give_up"', 24)


def test_a_choice_on_the_repeat_key_is_refused_even_without_global_keys() -> None:
    text = GOOD.replace('"2": bye', '"*": bye').replace("    type: menu\n", "    type: menu\n    global_keys: false\n")
    only(text, r"key \* in node main is already the global repeat key", 18)


@pytest.mark.parametrize("text", ["Goodbye {name", "Goodbye name}", "Goodbye {2}", "Goodbye {a b}"])
def test_stray_braces_are_refused(text: str) -> None:
    only(GOOD.replace("{en: Goodbye.}", f'{{en: "{text}"}}'), r"has a brace that is neither", 26)


def test_a_closed_transfer_that_leads_back_to_itself_loops() -> None:
    text = GOOD.replace("    closed: bye\n", "    closed: sorry\n") + (
        "  sorry: {type: message, say: {en: Closed.}, next: desk}\n")
    found = problems(text)
    assert any("messages loop forever: desk -> sorry -> desk" in p for p in found), found


def test_a_date_format_with_an_unknown_field() -> None:
    text = GOOD.replace('yes: ["yes"], no: ["no"]}', 'yes: ["yes"], no: ["no"], date_format: "{yr}"}')
    only(text, r"date_format '\{yr\}' cannot be used \(KeyError", 3)


# -- readings for the synthesiser ---------------------------------------------------------------
JA = GOOD.replace(
    '  en: {name: English, say_language: en-US, voice: Polly.Joanna, speech: en-US, yes: ["yes"], no: ["no"]}',
    '  en: {name: English, say_language: en-US, voice: Polly.Joanna, speech: en-US, yes: ["yes"], no: ["no"]}\n'
    '  ja: {name: 日本語, say_language: ja-JP, voice: Polly.Mizuki, speech: ja-JP, yes: [はい], no: [いいえ], '
    'synth_voice: jpx/ja}\n'
    '  zh: {name: 中文, say_language: cmn-CN, voice: Polly.Zhiyu, speech: cmn-Hans-CN, yes: [是], no: [不是], '
    'synth_voice: sit/cmn-latn-pinyin}').replace(
    "  invalid_key: {en: Sorry.}\n  no_input: {en: Sorry.}\n  not_understood: {en: Sorry.}\n  restart: {en: Again.}",
    "\n".join(f"  {name}: {{en: Sorry., ja: {{text: すみません。, reading: すみません。}}, zh: {{text: 抱歉。, reading: bao4 qian4.}}}}"
              for name in ("invalid_key", "no_input", "not_understood", "restart"))).replace(
    "    say: {en: Goodbye.}",
    "    say:\n      en: Goodbye.\n      ja: {text: 受付は24時間です。, reading: うけつけは24じかんです。}\n"
    "      zh: {text: 再见。, reading: zai4 jian4.}").replace(
    "    say: {en: Press 1 for staff or 2 to leave.}",
    "    say: {en: Press 1 for staff or 2 to leave., ja: 1か2を押して。, zh: {text: 请按1或2。, reading: qing3 an4 1 huo4 2.}}")


def test_the_readings_menu_is_clean_but_for_a_kanji_text_without_reading() -> None:
    found = problems(JA)
    assert len(found) == 1 and "node main say.ja has kanji but no reading" in found[0], found


@pytest.mark.parametrize(("old", "new", "drift"), [
    ("受付は24時間です。", "受付は365日です。", "the text says 365, the reading does not"),
    ("reading: うけつけは24じかんです。", "reading: うけつけは24じかんです。いつでもどうぞ。", "1 sentence(s) in the text, 2 in the reading"),
    ("受付は24時間です。", '"受付は24時間、{tel:0120-95-0178}です。"', "phone numbers 0120-95-0178 in the text, none in the reading"),
])
def test_a_reading_left_behind_by_its_text_is_a_warning(old: str, new: str, drift: str) -> None:
    found = [p for p in problems(JA.replace(old, new)) if "drift" in p or "does not match" in p]
    assert len(found) == 1 and ": warning: node bye say.ja reading does not match its text (" + drift in found[0], found
    assert "Update reading:" in found[0]


def test_a_latin_word_in_a_pinyin_reading_is_a_warning() -> None:
    text = JA.replace("zh: {text: 再见。, reading: zai4 jian4.}", "zh: {text: Mynapoint再见。, reading: Mynapoint zai4 jian4.}")
    found = [p for p in problems(text) if "not pinyin" in p]
    assert len(found) == 1 and "node bye say.zh reading has Mynapoint, not pinyin: espeak switches to English" in found[0]
    assert not [p for p in problems(text.replace("reading: Mynapoint zai4", "reading: mai4 na4 po1 yin1 te4 zai4"))
                if "not pinyin" in p]


def test_ends_needs_ended() -> None:
    from support import MENU_PATH

    text = MENU_PATH.read_text(encoding="utf-8").replace("  ends: 2023-02-28\n", "")
    found = problems(text)
    assert len(found) == 1 and "give both ends: (the programme's last day) and ended:" in found[0], found


# -- speech ------------------------------------------------------------------------------
SPOKEN = GOOD.replace('''      "2": bye
''', '''      "2": bye
    phrases:
      "1": {en: [staff, a person]}
      "2": {en: [leave, goodbye]}
''').replace("nodes:\n", "speech:\n  commands:\n    repeat: {en: [repeat, again]}\nnodes:\n")


def line_of(text: str, fragment: str) -> int:
    return text[:text.index(fragment)].count("\n") + 1


def test_a_menu_with_phrases_is_clean() -> None:
    assert problems(SPOKEN) == []


def test_a_phrase_two_choices_share_is_an_error_at_its_line() -> None:
    text = SPOKEN.replace("[leave, goodbye]", "[leave, A Person]")
    only(text, r"'A Person' is said for both key 1 and key 2 of node main; keep it under one choice",
         line_of(text, '"2": {en: [leave'))


def test_a_choice_without_a_phrase_in_a_language_is_an_error() -> None:
    two = SPOKEN.replace("  en: {name: English,", "  ja: {name: 日本語, say_language: ja-JP, voice: Polly.Mizuki, speech: "
                         "ja-JP, yes: [はい], no: [いいえ]}\n  en: {name: English,")
    two = two.replace("{en: Sorry.}", "{en: Sorry., ja: すみません。}").replace("{en: Again.}", "{en: Again., ja: もう一度。}")
    two = two.replace("{en: Press 1 for staff or 2 to leave.}", "{en: Press 1 for staff or 2 to leave., ja: 1か2。}")
    two = two.replace("{en: Goodbye.}", "{en: Goodbye., ja: さようなら。}").replace(
        '"1": {en: [staff, a person]}', '"1": {en: [staff, a person], ja: [係員]}')
    two = two.replace("repeat: {en: [repeat, again]}", "repeat: {en: [repeat, again], ja: [もう一度]}")
    only(two, r"choice 2 of node main has no phrase in ja; add what a caller would say", line_of(two, '"2": {en: [leave'))
    missing = SPOKEN.replace('      "2": {en: [leave, goodbye]}\n', "")
    only(missing, r"choice 2 of node main has no phrases; add phrases: 2:", line_of(missing, '"2": bye'))


def test_a_phrase_that_is_also_a_command_is_an_error() -> None:
    text = SPOKEN.replace("[leave, goodbye]", "[leave, Again]")
    only(text, r"'Again' at node main is also the repeat command", line_of(text, '"2": {en: [leave'))


def test_phrases_for_a_key_that_is_no_choice_and_a_comma_in_a_phrase() -> None:
    text = SPOKEN.replace('"2": {en: [leave, goodbye]}', '"2": {en: [leave, goodbye]}\n      "3": {en: [three]}')
    only(text, r"node main has phrases for key 3, which is not one of its choices", line_of(text, '"3": {en'))
    comma = SPOKEN.replace("[leave, goodbye]", '[leave, "goodbye, thanks"]')
    only(comma, r"holds a comma: write each phrase as its own item", line_of(comma, '"2": {en: [leave'))


def test_a_node_without_phrases_in_a_menu_that_has_them_is_a_warning() -> None:
    text = SPOKEN.replace("  bye:\n", "  more:\n    type: menu\n    say: {en: Press 1.}\n    choices: {\"1\": bye}\n"
                          "  bye:\n").replace('"2": bye\n', '"2": bye\n      "3": more\n', 1)
    text = text.replace('"2": {en: [leave, goodbye]}', '"2": {en: [leave, goodbye]}\n      "3": {en: [more]}')
    only(text, r"node more has no phrases: callers can only press keys here", line_of(text, '    choices: {"1": bye}'),
         "warning")
    assert problems(GOOD) == []  # a menu of keys only is not told so at every node


def test_a_word_that_names_two_keys_is_an_error() -> None:
    text = SPOKEN.replace('speech: en-US, yes: ["yes"]', 'speech: en-US, key_names: {"1": [one], "2": [two, One]}, '
                          'yes: ["yes"]')
    only(text, r"'One' names both key 1 and key 2 in en; keep it under one", 3)


def test_phrases_of_a_command_without_a_key_are_a_warning_and_never_heard() -> None:
    from support import WEEKDAY_MORNING

    from ivr.engine import Engine, Speak

    text = SPOKEN.replace("    repeat: {en: [repeat, again]}\n", "    repeat: {en: [repeat, again]}\n"
                          "    operator: {en: [operator]}\n").replace("nodes:\n", "keys: {operator: null}\nnodes:\n", 1)
    only(text, r"the operator command has phrases, but keys: operator is null", line_of(text, "    operator: {en"),
         "warning")
    menu, _ = check_text(text, "menu.yaml")
    assert menu is not None
    engine = Engine(menu)
    call, _ = engine.start(WEEKDAY_MORNING)
    assert engine.step(call, Speak("operator"), WEEKDAY_MORNING).meant == "unclear"  # not a crash: not a command here


def test_a_priority_that_is_no_choice_with_phrases_is_an_error() -> None:
    text = SPOKEN.replace('      "2": {en: [leave, goodbye]}\n', '      "2": {en: [leave, goodbye]}\n    priority: "3"\n')
    only(text, r"priority 3 of node main is not a choice with phrases \(have 1, 2\)", line_of(text, '    priority: "3"'))
    assert problems(SPOKEN.replace('      "2": {en: [leave, goodbye]}\n',
                                   '      "2": {en: [leave, goodbye]}\n    priority: "1"\n')) == []
