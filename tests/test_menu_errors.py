"""What an operator meets when the menu file is wrong: the line to fix and the fix, in plain words.

Each test breaks a copy of the shipped menu (or a tiny one) the way people do, writes it to a
file, lints it, and checks the line reported and that the message names the fix (not the
parser's jargon).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.errors import Problem
from ivr.loader import check_file

MENU = Path(__file__).parent.parent / "menus" / "free_dial.yaml"
SHIPPED = MENU.read_text(encoding="utf-8")
JARGON = re.compile(r"<block end>|<block mapping start>|while scanning|while parsing|Input should|\.menu\.|"
                    r"function-|\[key\]")


def line_of(text: str, needle: str, after: int = 0) -> int:
    """The 1-based number of the first line (after line `after`) that contains `needle`."""
    for number, row in enumerate(text.splitlines(), 1):
        if number > after and needle in row:
            return number
    raise AssertionError(f"{needle!r} is not in the menu")


def edit(text: str, line: int, change) -> str:  # type: ignore[no-untyped-def]
    rows = text.splitlines(keepends=True)
    rows[line - 1] = change(rows[line - 1])
    return "".join(rows)


def lint(tmp_path: Path, text: str) -> list[Problem]:
    path = tmp_path / "menu.yaml"
    path.write_text(text, encoding="utf-8")
    menu, problems = check_file(path)
    assert all(p.file == str(path) for p in problems)
    return problems


def only_error(tmp_path: Path, text: str) -> Problem:
    problems = [p for p in lint(tmp_path, text) if p.severity == "error"]
    assert len(problems) == 1, [str(p) for p in problems]
    assert not JARGON.search(problems[0].message), problems[0].message
    return problems[0]


# Lines of the shipped menu the tests break (found by their text, so the menu may change).
CARD_INFO = line_of(SHIPPED, "  card_info:")
CARD_INFO_TYPE = CARD_INFO + 1
CARD_INFO_SAY = line_of(SHIPPED, "    say:", CARD_INFO)
CARD_INFO_NEXT = line_of(SHIPPED, "    next: card_desk", CARD_INFO)
CARD_INFO_EN = line_of(SHIPPED, "      en: ", CARD_INFO)
VERSION = line_of(SHIPPED, "  version: ")
REPEAT = line_of(SHIPPED, '  repeat: "*"')
LANGUAGE_CHOICES = line_of(SHIPPED, '    choices: {"1": ja')


def test_the_shipped_menu_is_clean(tmp_path: Path) -> None:
    assert [p for p in lint(tmp_path, SHIPPED) if p.severity == "error"] == []


# -- YAML syntax ---------------------------------------------------------------------------
def test_a_key_indented_one_space_too_far_is_blamed_not_the_line_after_it(tmp_path: Path) -> None:
    # PyYAML reports the line after, in the block that starts at the first node, 160 lines up.
    problem = only_error(tmp_path, edit(SHIPPED, CARD_INFO_TYPE, lambda row: " " + row))
    assert problem.line == CARD_INFO_TYPE
    assert problem.message.startswith(f"YAML syntax: the indentation of line {CARD_INFO_TYPE} (5 spaces) "
                                      "does not match the lines around it")
    assert "line up keys at the same level" in problem.message
    assert f"noticed it only at line {CARD_INFO_TYPE + 1}" in problem.message


@pytest.mark.parametrize(("change", "spaces", "levels"), [
    # card_info's keys are at 4 spaces (its latest before next: is say:), the nodes at 2 (card_info:)
    (lambda row: row[1:], 3, f"4 spaces (line {CARD_INFO_SAY}) or 2 spaces (line {CARD_INFO})"),
    # the languages under say: are at 6 spaces, the last one on the line before next:
    (lambda row: " " + row, 5, f"6 spaces (line {CARD_INFO_NEXT - 1}) or 4 spaces (line {CARD_INFO_SAY})"),
])
def test_a_key_between_two_levels(tmp_path: Path, change, spaces: int, levels: str) -> None:  # type: ignore[no-untyped-def]
    problem = only_error(tmp_path, edit(SHIPPED, CARD_INFO_NEXT, change))
    assert problem.line == CARD_INFO_NEXT
    assert problem.message == (f"YAML syntax: the indentation of line {CARD_INFO_NEXT} ({spaces} spaces) does not match "
                               f"the lines above it, which are indented {levels}: line up keys at the same level")


def test_an_unclosed_quote_is_blamed_where_it_opens_not_where_the_next_quote_is(tmp_path: Path) -> None:
    broken = edit(SHIPPED, VERSION, lambda row: row.replace('1"', "1"))
    closing = line_of(broken, '"', VERSION)  # where YAML finds the next quote and trips
    assert closing > VERSION + 5
    problem = only_error(tmp_path, broken)
    assert problem.line == VERSION
    assert problem.message == (f'YAML syntax: the quote " opened on this line is not closed on it, so YAML reads on to '
                               f'the next " (line {closing}): end the text with " on line {VERSION} '
                               f"(the YAML parser noticed it only at line {closing})")


def test_an_unclosed_single_quote_in_a_text(tmp_path: Path) -> None:
    problem = only_error(tmp_path, edit(SHIPPED, CARD_INFO_EN, lambda row: row.replace("en: ", "en: '")))
    assert problem.line == CARD_INFO_EN
    assert f"end the text with ' on line {CARD_INFO_EN}" in problem.message


@pytest.mark.parametrize(("line", "change"), [
    (CARD_INFO_TYPE, lambda row: row.replace("type:", "type")),  # PyYAML: the line after
    (CARD_INFO, lambda row: row.replace(":", "")),
    (CARD_INFO_NEXT, lambda row: row.replace("next:", "next")),  # PyYAML: two lines after
])
def test_a_missing_colon(tmp_path: Path, line: int, change) -> None:  # type: ignore[no-untyped-def]
    problem = only_error(tmp_path, edit(SHIPPED, line, change))
    assert problem.line == line
    assert re.match(rf"YAML syntax: line {line} has no colon after its key \(.+\): write key: value, with a space "
                    "after the colon", problem.message), problem


def test_a_tab(tmp_path: Path) -> None:
    problem = only_error(tmp_path, edit(SHIPPED, CARD_INFO_NEXT, lambda row: "\t" + row.lstrip(" ")))
    assert problem.line == CARD_INFO_NEXT
    assert "has a tab character in its indentation: YAML indents with spaces only; replace the tab with spaces" \
        in problem.message


@pytest.mark.parametrize(("line", "change", "fix"), [
    (REPEAT, lambda row: row.replace('"*"', "*"), 'a key or value starting with * must be quoted: "*"'),
    (line_of(SHIPPED, '      "3": system_info'), lambda row: row.replace('"3"', "*"),
     'a key or value starting with * must be quoted: "*"'),
    (CARD_INFO_NEXT, lambda row: row.replace("card_desk", "& desk"), 'starting with & must be quoted: "& desk"'),
    (CARD_INFO_EN, lambda row: row.replace("en: ", "en: @"), 'a value cannot start with @: put the whole text in '
     'quotes, e.g. "@Questions'),
    (CARD_INFO_EN, lambda row: row.replace("en: ", "en: `"), "a value cannot start with `"),
    (CARD_INFO_EN, lambda row: row.replace("en: ", "en: {points} "), "a value starting with { is read as a {...} "
     'group, not as text; if { is part of the text, put the whole text in quotes: "{points} Questions'),
    (CARD_INFO_EN, lambda row: row.replace("Questions about", "Questions: about"), "the value contains a colon"),
    (CARD_INFO_NEXT, lambda row: row.replace("card_desk", "*card_desk"),
     "*card_desk repeats the text named &card_desk, but no &card_desk comes before it"),
    (LANGUAGE_CHOICES, lambda row: row.replace("}", ""), "the { opened here is not closed: end it with } on the same line"),
    (VERSION, lambda row: row.replace('1"', '1" beta'), "text follows the closing quote"),
])
def test_signs_yaml_reads_itself(tmp_path: Path, line: int, change, fix: str) -> None:  # type: ignore[no-untyped-def]
    problem = only_error(tmp_path, edit(SHIPPED, line, change))
    assert problem.line == line
    assert fix in problem.message, problem


@pytest.mark.parametrize(("text", "line", "fix"), [
    ("a: 1\nb: !include other.yaml\n", 2, "YAML tags such as !include are not used in these files"),
    ("a: 1\nb: 2022-02-30\n", 2, "2022-02-30 is not a real date (day is out of range for month)"),
    ("a: 1\nb: \x07\n", 2, "invisible control character (#x0007)"),
    ("a: 1\n---\nb: 2\n", 2, "remove the '---'"),
    ("a:\n  b: >-\n    one\n   two\n  c: 1\n", 4, "line 4 is indented less than the text above it (the >- text of line 2)"),
    ("a:\n  - 1\n  b: 2\n", 3, "line 3 is a key: value line, but the lines above it at the same indentation (from "
     "line 2) are list items"),
    ("a: 1\n  b: 2\n", 2, "line 2 is indented further than line 1, whose key already has a value"),
    ('a: "C:\\new\\q"\n', 1, "write \\\\ for a backslash"),
])
def test_other_files_that_are_not_yaml(tmp_path: Path, text: str, line: int, fix: str) -> None:
    """These used to stop lint with a traceback (tag, date, control character) or parser words."""
    problem = only_error(tmp_path, text)
    assert problem.line == line
    assert problem.message.startswith("YAML syntax: ") and fix in problem.message, problem


# -- fields and values (pydantic) -----------------------------------------------------------
GOOD_TINY = """\
menu: {name: Tiny, version: "1", start: main, main_menu: main, operator: bye, default_language: en}
languages:
  en: {name: English, say_language: en-US, voice: Polly.Joanna, speech: en-US, yes: ["yes"], no: ["no"]}
prompts:
  invalid_key: {en: Sorry.}
  no_input: {en: Sorry.}
  not_understood: {en: Sorry.}
  restart: {en: Again.}
nodes:
  main:
    type: menu
    say: {en: Press 1 to leave.}
    choices: {"1": bye}
  bye:
    type: hangup
    say: {en: Goodbye.}
"""


NEXT_OF = {name: line_of(SHIPPED, "    next: ", line_of(SHIPPED, f"  {name}:")) for name in ("language", "fraud_warning")}
LOST_DESK = line_of(SHIPPED, "  lost_desk:")
LOST_DESK_TYPE = line_of(SHIPPED, "    type: transfer", LOST_DESK)
LOST_DESK_TO = line_of(SHIPPED, "    to: ", LOST_DESK)
LOST_DESK_UNANSWERED = line_of(SHIPPED, "    unanswered: ", LOST_DESK)
JA_SPEECH = line_of(SHIPPED, "    speech: ja-JP")
JA_AUDIO = line_of(SHIPPED, "    audio: say")
MAIN = line_of(SHIPPED, "  main:")
MAIN_CHOICE_5 = line_of(SHIPPED, '      "5": mynapoint', MAIN)
TIMEOUT = line_of(SHIPPED, "  timeout: 6")


@pytest.mark.parametrize(("line", "old", "new", "message"), [
    # a misspelt field: one problem where it is written (not also "missing" at the top of the block)
    (LOST_DESK_UNANSWERED, "unanswered:", "unanswerd:", 'unknown field "unanswerd" in node lost_desk; did you mean '
     '"unanswered"?'),
    (JA_SPEECH, "speech:", "speach:", 'unknown field "speach" in language ja; did you mean "speech"?'),
    (LOST_DESK_TYPE, "type: transfer", "type: transfr", "node lost_desk: unknown node type 'transfr'; did you mean "
     '"transfer"? (use one of: menu, language, message, question, eligibility, transfer, hangup)'),
    (MAIN_CHOICE_5, "mynapoint", "mynapiont", "node main choices.5 leads to node 'mynapiont', which does not exist; "
     'did you mean "mynapoint"?'),
    (NEXT_OF["language"], "next: lost_card_first", "next: lost_card_firs", "node language next leads to node "
     "'lost_card_firs', which does not exist; did you mean \"lost_card_first\"?"),
    (line_of(SHIPPED, '    choices: {"1": ja'), '"2": en', '"2": eng', "key 2 selects language 'eng', which is not "
     'under languages: (have en, es, ja, ko, pt, zh); did you mean "en"?'),
    (line_of(SHIPPED, "  default_language: ja"), "ja", "jp", "default_language 'jp' is not under languages: (have "
     'en, es, ja, ko, pt, zh); did you mean "ja"?'),
    (line_of(SHIPPED, "    hours: always"), "always", "allways", "node lost_desk uses hours 'allways', which is not "
     'under hours: (have always, hotline); did you mean "always"?'),
    (JA_AUDIO, "audio: say", "audio: plya", "language ja audio must be 'say' or 'play', not 'plya'; did you mean "
     '"play"?'),
    (LOST_DESK_TO, '"+81120950178"', "+81120950178", 'node lost_desk to: YAML read 81120950178 as a number; put it '
     'in quotes, e.g. to: "+81120950178" (unquoted, YAML drops the +)'),
    (TIMEOUT, "timeout: 6", "timeout: 90", "settings.timeout must be at most 60, not 90"),
    (TIMEOUT, "timeout: 6", "timeout: soon", "settings.timeout must be a whole number, not 'soon'"),
    (TIMEOUT, "timeout: 6", "timeot: 6", 'unknown field "timeot" in settings; did you mean "timeout"?'),
    (VERSION, '"2026.11.1"', "2026", 'menu.version: YAML read 2026 as a number; put it in quotes, e.g. version: "2026"'),
    (MAIN_CHOICE_5, '"5"', '"x"', "node main choices.x: 'x' is not a key; use one key: 0-9, * or #, in quotes "
     '(e.g. "1")'),
    (MAIN_CHOICE_5, "mynapoint", "myna-point", "node main choices.5: 'myna-point' is not a node name; node names are "
     'letters, digits and _, not starting with a digit, e.g. "myna_point"'),
])
def test_fields_and_values_are_worded_with_the_fix(tmp_path: Path, line: int, old: str, new: str, message: str) -> None:
    problem = only_error(tmp_path, edit(SHIPPED, line, lambda row: row.replace(old, new)))
    assert (problem.line, problem.message) == (line, message)


def test_a_prompt_written_as_one_text(tmp_path: Path) -> None:
    broken = GOOD_TINY.replace("    say: {en: Goodbye.}", "    say: Goodbye.")
    problem = only_error(tmp_path, broken)
    assert problem.line == line_of(broken, "    say: Goodbye.")
    assert problem.message == ("node bye say must be a block of lines indented under it (one text per language, "
                               "e.g. en: Goodbye.), not the text 'Goodbye.'")


def test_a_text_that_yaml_reads_as_a_group(tmp_path: Path) -> None:
    en = line_of(SHIPPED, "    en: ", line_of(SHIPPED, "  invalid_key:"))
    problem = only_error(tmp_path, edit(SHIPPED, en, lambda row: "    en: {sorry}\n"))
    assert problem.line == en
    assert problem.message == ('prompt invalid_key en: YAML read {sorry} as a {...} group, not as text; put the whole '
                               'text in quotes: "{sorry}"')


def test_a_missing_field_is_reported_at_its_node(tmp_path: Path) -> None:
    problem = only_error(tmp_path, edit(SHIPPED, LOST_DESK_UNANSWERED, lambda row: ""))
    assert (problem.line, problem.message) == (LOST_DESK, 'node lost_desk has no "unanswered"; add it')


def test_a_node_without_fields(tmp_path: Path) -> None:
    broken = GOOD_TINY.replace("  bye:\n    type: hangup\n    say: {en: Goodbye.}\n", "  bye: hangup\n")
    problem = only_error(tmp_path, broken)
    assert (problem.line, problem.message) == (line_of(broken, "  bye: hangup"), (
        "node bye must be a block of lines indented under it (type: one of menu, language, message, question, "
        "eligibility, transfer, hangup, then its fields), not the text 'hangup'"))


def test_a_misspelt_placeholder(tmp_path: Path) -> None:
    total = line_of(SHIPPED, "    en: ", line_of(SHIPPED, "  total:"))
    problem = only_error(tmp_path, edit(SHIPPED, total, lambda row: row.replace("{points}", "{pionts}")))
    assert problem.line == total
    assert problem.message.endswith('placeholders allowed here: {points} (did you mean "points"?)')


def test_the_tiny_menu_is_clean(tmp_path: Path) -> None:
    assert lint(tmp_path, GOOD_TINY) == []


# -- the scenario files use the same helper ----------------------------------------------------
def test_scenario_files_are_worded_by_the_same_helper(tmp_path: Path) -> None:
    from ivr.loader import load_menu
    from ivr.scenario_file import ScenarioFileError, load_file

    path = tmp_path / "calls.yaml"
    path.write_text('- name: a\n  stpes:\n    - press: "2"\n- name: b\n  steps:\n    - press: "2"\n'
                    "      hangs_up: maybe\n", encoding="utf-8")
    with pytest.raises(ScenarioFileError) as caught:
        load_file(path, load_menu(MENU))
    # one problem for the misspelt field (not also "has no steps"), and pydantic's words translated
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (2, 'unknown field "stpes" in scenario 1 ("a"); did you mean "steps"?'),
        (7, 'scenario 2 ("b"), step 1, hangs_up must be true or false, not \'maybe\''),
    ]


# -- the operators' guide --------------------------------------------------------------------
DOC = (Path(__file__).parent.parent / "docs" / "menu-format.md").read_text(encoding="utf-8")


def test_the_guide_describes_every_field_the_menu_accepts() -> None:
    """Unknown fields are errors, so a field the guide leaves out is one nobody can find."""
    from ivr import menu as models

    undocumented = [f"{model.__name__}.{name}" for model in (
        models.Menu, models.Info, models.Language, models.Settings, models.Keys, models.Speech, models.Commands, models.Calendar, models.Special,
        models.Announcement, models.Eligibility,
        models.Rule, models.MenuNode, models.LanguageNode, models.MessageNode, models.QuestionNode,
        models.EligibilityNode, models.TransferNode, models.HangupNode)
        for name in (f.alias or n for n, f in model.model_fields.items())
        if f"`{name}`" not in DOC and f'`"{name}"`' not in DOC]
    assert undocumented == []
    assert "`text:`" in DOC and "`reading:`" in DOC  # the other way to write a prompt's text


def test_the_guides_examples_are_yaml_and_its_small_menu_is_clean(tmp_path: Path) -> None:
    from ivr.source import parse

    blocks = re.findall(r"```yaml\n(.*?)```", DOC, re.S)
    assert len(blocks) > 10
    for block in blocks:
        parse(block, "example")  # raises SourceSyntaxError with the line if one is broken
    small = blocks[0]
    assert small.startswith("menu:") and "nodes:" in small
    assert lint(tmp_path, small) == []


def test_a_one_key_block_shifted_left_is_blamed_not_its_next_sibling(tmp_path: Path) -> None:
    total = line_of(SHIPPED, "  total:", line_of(SHIPPED, "eligibility:"))
    none = line_of(SHIPPED, "  none:", total)
    problem = only_error(tmp_path, edit(SHIPPED, total, lambda row: row[1:]))
    assert problem.line == total
    assert problem.message.startswith(f"YAML syntax: the indentation of line {total} (1 space) does not match the "
                                      f"lines around it (line {none} after it is indented 2 spaces)")
