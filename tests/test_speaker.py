"""`ivr sim --speak`: what espeak is given to read, and a machine without audio."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from support import MENU_PATH, Caller, jst

from ivr.cli import cli
from ivr.menu import Menu
from ivr.speaker import reading


def test_sim_speak_without_audio_says_so_once_and_keeps_the_transcript(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ivr.speaker.has_audio", lambda: False)
    args = ["sim", "--menu", str(MENU_PATH), "--script", "1 5 1 2", "--at", "2026-12-07T10:00"]
    quiet = CliRunner().invoke(cli, args)
    spoken = CliRunner().invoke(cli, [*args, "--speak"])
    assert spoken.exit_code == 0
    assert spoken.stderr.count("no audio output on this machine") == 1
    assert spoken.stdout == quiet.stdout


def test_speaker_reads_kana_and_pinyin_where_the_prompt_has_them(menu: Menu, call: Caller) -> None:
    said = {e["lang"]: reading(menu, e) for e in call("") if e["type"] == "say" and e["prompt"] == "language"}
    assert said["ja"] == "にほんごは1をおしてください。"
    assert said["zh"] == "zhong1 wen2 qing3 an4 3."
    assert said["en"] == "English, press 2." and said["ko"] == "한국어는 4번을 눌러 주십시오."  # no reading
    goodbye = menu.nodes["goodbye"].say["ja"]
    event = {"type": "say", "lang": "ja", "prompt": "goodbye", "text": str(goodbye), "spoken": str(goodbye)}
    assert reading(menu, event) == goodbye.reading
    # eligibility answers are composed per call: English is read as it is said, Japanese from its
    # reading, dates in kana (not kanji names)
    result = [e for e in call("2 5 1 1 2 1 1", at=jst(2022, 7, 1, 10, 0)) if e.get("prompt") == "eligibility_result"]
    assert result and all(reading(menu, e) == e["spoken"] for e in result)
    ja = [e for e in call("1 5 1 1 2 1 1", at=jst(2022, 7, 1, 10, 0)) if e.get("prompt") == "eligibility_result"]
    read = [reading(menu, e) for e in ja]
    assert all(r != e["spoken"] for r, e in zip(read, ja))
    assert any("2023ねん2がつ28にち" in r for r in read) and not any("年" in r for r in read)
