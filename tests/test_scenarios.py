"""`ivr test` and the scenario files: failures come with their transcript, broken files with
file:line, coverage names what was never exercised, and pytest collects the same files."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import MENU_PATH, ROOT

from ivr.cli import cli
from ivr.menu import Menu
from ivr.menu_coverage import Coverage
from ivr.scenarios import ENGINE, TWIML, Runner, ScenarioFileError, load_file

pytest_plugins = ["pytester"]

WRONG = """\
- name: the card desk at night
  at: 2026-12-06T23:00
  steps:
    - press: "2"
      at_node: main
    - press: "1"
      hears: Connecting you now.
      transfer_to: "+81120950178"
"""


def write(tmp_path: Path, text: str, name: str = "calls.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def ivr_test(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["test", "--menu", str(MENU_PATH), *args])
    return result.exit_code, result.output


# -- failures ----------------------------------------------------------------------------
def test_a_failing_scenario_is_reported_on_both_paths_with_its_transcript(tmp_path: Path) -> None:
    path = write(tmp_path, WRONG)
    code, out = ivr_test(str(path))
    assert code == 1
    assert "FAIL engine  FAIL twiml  the card desk at night" in out
    for where in (ENGINE, TWIML):
        assert f'{path}:1: scenario "the card desk at night" FAILED on the {where} path' in out
    assert 'step 2 (line 6, press "1"):' in out
    assert '- hears "Connecting you now.": not heard' in out
    assert "- transfer_to +81120950178: the call waits for a key or speech at after_hours" in out  # engine: node named
    assert "- transfer_to +81120950178: the call waits for a key or speech\n" in out               # TwiML: no node
    assert "step 1 > press 2" in out and "step 2 > press 1" in out
    assert "[en] Staff are not available at this time." in out          # the transcript, in full at the failing step
    assert "... waiting for a key or speech (after_hours)" in out
    assert "1 scenario(s) in 1 file(s): 0 passed, 1 failed (failures by path: engine 1, twiml 1)" in out


def test_passing_scenarios_exit_0(tmp_path: Path) -> None:
    path = write(tmp_path, WRONG.replace("23:00", "10:00"))
    code, out = ivr_test(str(path))
    assert code == 0, out
    assert "PASS engine  PASS twiml  the card desk at night" in out
    assert "1 passed, 0 failed" in out


def test_node_checks_apply_to_the_engine_path_only(menu: Menu, tmp_path: Path) -> None:
    path = write(tmp_path, '- name: wrong node\n  steps:\n    - press: "2"\n      at_node: mynapoint\n'
                           '      offers: ["1", "2"]\n')
    scenario = load_file(path, menu)[0]
    runner = Runner(menu, MENU_PATH)
    engine = runner.run(scenario, ENGINE)
    assert engine.failures == ["at_node mynapoint: the call is at main",
                               "offers 1, 2: node main offers 1, 2, 3, 4, 5"]
    assert runner.run(scenario, TWIML).passed


def test_phone_numbers_are_heard_as_written_on_both_paths(menu: Menu, tmp_path: Path) -> None:
    path = write(tmp_path, '- name: numbers\n  at: 2026-12-06T23:00\n  steps:\n    - press: "21"\n'
                           "      hears: [\"050-3627-0952\", \"{tel:0570-010076}\"]\n")
    scenario = load_file(path, menu)[0]
    runner = Runner(menu, MENU_PATH)
    assert runner.run(scenario, ENGINE).passed and runner.run(scenario, TWIML).passed


@pytest.mark.parametrize(("steps", "message"), [
    ('    - press: "2"\n    - press: "2"\n    - press: "1"\n', "the call was transferred to +81120950178, so staff"),
    ('    - press: "2"\n    - busy\n', "busy only follows a transfer, but the call waits for a key or speech at main"),
    ('    - hangup\n    - press: "1"\n', "the call has already ended"),
])
def test_impossible_steps_are_reported(menu: Menu, tmp_path: Path, steps: str, message: str) -> None:
    scenario = load_file(write(tmp_path, f"- name: odd\n  steps:\n{steps}"), menu)[0]
    outcome = Runner(menu, MENU_PATH).run(scenario, ENGINE)
    assert not outcome.passed and message in outcome.failures[0]
    assert outcome.failed_step == len(scenario.steps)


# -- broken files ------------------------------------------------------------------------
GOOD_STEP = '    - press: "2"\n'


@pytest.mark.parametrize(("text", "line", "message"), [
    ("- name: a\n  steps:\n    - press: \"2\"\n      hear: Beware\n", 4,
     'unknown field "hear" in scenario 1 ("a"), step 1; did you mean "hears"?'),
    ("- name: a\n  stpes:\n" + GOOD_STEP, 2, 'did you mean "steps"?'),
    ("- name: a\n  steps:\n    - press: \"2x\"\n", 3, "'2x' is not a key"),
    ("- name: a\n", 1, 'scenario 1 ("a") has no "steps"; add it'),
    ("- name: a\n  steps:\n    - press: *\n", 3, "YAML syntax"),
    ("- name: a\n  steps:\n" + GOOD_STEP + "    - say: yes\n", 4, 'put the words in quotes, e.g. say: "yes"'),
    ("- name: a\n  steps:\n    - press: \"2\"\n      silence: true\n", 3, "one input per step"),
    ("- name: a\n  steps:\n    - wait\n", 3, "'wait' is not a step"),
    ("- name: a\n  steps:\n" + GOOD_STEP + "    - hears: [By September 30, 2022]\n", 4,
     "2022 in this list is not a text"),
    ("- name: a\n  at: 2026-11-23\n  steps:\n" + GOOD_STEP, 2, "2026-11-23 is a date; give a time too"),
    ("- name: a\n  steps:\n" + GOOD_STEP + "      at_node: mian\n", 4,
     """at_node 'mian' is not a node of the menu; did you mean "main"?"""),
    ("- name: a\n  lang: fr\n  steps:\n" + GOOD_STEP, 2, "lang 'fr' is not a language of the menu"),
    ("- name: a\n  steps:\n" + GOOD_STEP + "- name: a\n  steps:\n" + GOOD_STEP, 4,
     'two scenarios are named "a" (first at line 1)'),
    ("name: a\nsteps: []\n", 1, "a scenario file is a list of scenarios"),
])
def test_bad_files_are_reported_with_file_and_line(menu: Menu, tmp_path: Path, text: str, line: int,
                                                   message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioFileError) as caught:
        load_file(path, menu)
    assert any(p.line == line and message in p.message for p in caught.value.problems), caught.value.problems
    assert f"{path}:{line}: error: " in str(caught.value)


def test_a_bad_file_fails_the_run_but_the_others_still_play(tmp_path: Path) -> None:
    write(tmp_path, "- name: a\n  steps:\n    - press: \"2\"\n      hear: Beware\n", "bad.yaml")
    write(tmp_path, WRONG.replace("23:00", "10:00"), "good.yaml")
    code, out = ivr_test(str(tmp_path))
    assert code == 1
    assert f'{tmp_path / "bad.yaml"}:4: error: unknown field "hear"' in out
    assert "PASS engine  PASS twiml  the card desk at night" in out
    assert "1 file(s) could not be read" in out


# -- coverage ----------------------------------------------------------------------------
def test_coverage_lists_what_was_never_exercised(menu: Menu, tmp_path: Path) -> None:
    scenario = load_file(write(tmp_path, WRONG.replace("23:00", "10:00")), menu)[0]
    coverage = Coverage(menu)
    Runner(menu, MENU_PATH, coverage).run(scenario, ENGINE)
    assert coverage.nodes == {"language", "lost_card_first", "fraud_warning", "main", "card_info", "card_desk"}
    assert coverage.keys == {("language", "2"), ("main", "1")}
    report = coverage.report()
    assert "  nodes      6/25   24.0%" in report
    assert "lost_busy" in report.split("keys")[0]  # among the nodes never entered
    assert "main (2, 3, 4, 5)" in report
    assert "* (repeat) NEVER pressed" in report
    en = next(line for line in report.splitlines() if line.strip().startswith("en "))
    assert en.split()[1] == "7/48"  # language, lost_card_first, fraud_warning, main, press_or_say, card_info, card_desk


def test_a_closed_transfer_counts_as_entered(menu: Menu, tmp_path: Path) -> None:
    coverage = Coverage(menu)
    Runner(menu, MENU_PATH, coverage).run(load_file(write(tmp_path, WRONG), menu)[0], ENGINE)
    assert {"card_desk", "after_hours"} <= coverage.nodes
    assert ("card_desk", "en") not in coverage.prompts  # said nothing: it was closed


def test_cli_coverage_of_the_shipped_scenarios_is_complete() -> None:
    code, out = ivr_test(str(ROOT / "tests" / "scenarios"), "--coverage")
    assert code == 0, out
    assert "  nodes     25/25  100.0%" in out
    assert "  keys      30/30  100.0%" in out


# -- pytest collects the same files --------------------------------------------------------
def test_pytest_collects_one_item_per_scenario_and_path(pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    (pytester.path / "menus").mkdir()
    shutil.copy(MENU_PATH, pytester.path / "menus" / "free_dial.yaml")
    scenarios = pytester.path / "tests" / "scenarios"
    scenarios.mkdir(parents=True)
    for helper in ("conftest.py", "support.py"):
        shutil.copy(ROOT / "tests" / helper, pytester.path / "tests" / helper)
    (scenarios / "night.yaml").write_text(WRONG + WRONG.replace("night", "day").replace("23:00", "10:00"))
    (scenarios / "broken.yaml").write_text("- name: a\n  stpes: []\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--continue-on-collection-errors", "tests")
    result.assert_outcomes(passed=2, failed=2, errors=1)
    out = result.stdout.str()
    for path in ("engine", "twiml"):
        assert f"FAILED tests/scenarios/night.yaml::the card desk at night[{path}]" in out
    assert 'scenario "the card desk at night" FAILED on the twiml path' in out
    assert "- transfer_to +81120950178: the call waits for a key or speech at after_hours" in out
    assert "broken.yaml:2: error: unknown field \"stpes\"" in out


# -- which menu a scenario file is for -------------------------------------------------------
def test_a_subfolder_named_after_a_menu_holds_that_menus_scenarios(tmp_path: Path) -> None:
    """tests/scenarios/city/ is played against menus/city.yaml, the other files against the default menu."""
    menus = tmp_path / "menus"
    menus.mkdir()
    for name in ("free_dial.yaml", "city.yaml"):
        shutil.copy(ROOT / "menus" / name, menus / name)
    scenarios = tmp_path / "scenarios"
    (scenarios / "city").mkdir(parents=True)
    write(scenarios, WRONG.replace("23:00", "10:00"), "free_dial_call.yaml")
    write(scenarios / "city", '- name: city main menu\n  lang: en\n  steps:\n    - hears: "For Oshu city\'s support '
                              'terminals, press 1."\n      offers: ["1", "2", "3"]\n', "city_call.yaml")
    for menu, played in (("free_dial.yaml", "the card desk at night"), ("city.yaml", "city main menu")):
        result = CliRunner().invoke(cli, ["test", "--menu", str(menus / menu), str(scenarios)])
        assert result.exit_code == 0, result.output
        assert f"PASS engine  PASS twiml  {played}" in result.output
        assert "1 scenario(s) in 1 file(s): 1 passed" in result.output


def test_the_shipped_city_scenarios_reach_every_node_and_key_of_the_city_menu() -> None:
    result = CliRunner().invoke(cli, ["test", "--menu", str(ROOT / "menus" / "city.yaml"), "--coverage"])
    assert result.exit_code == 0, result.output
    assert "nodes     15/15  100.0%" in result.output and "keys      19/19  100.0%" in result.output
    assert "prompts  108/108 100.0%" in result.output  # by_voice.yaml: not_understood in every language too
    for lang in ("ja", "en", "zh", "ko", "es", "pt"):
        assert re.search(rf"^    {lang}      18/18  100.0%$", result.output, re.MULTILINE)
