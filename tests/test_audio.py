"""Prompt audio: rendering, the manifest, studio recordings, <Play> in TwiML, and whether an
offline recogniser hears the English prompts as the words we wrote."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import recogniser
import soundfile
from click.testing import CliRunner
from support import MENU_PATH, WEEKDAY_MORNING

from ivr.audio import audio_file, fixed_prompts, read_manifest, render, synthesise, synthesisers
from ivr.cli import cli
from ivr.loader import load_menu
from ivr.menu import Menu
from ivr.web import create_app


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    root = tmp_path_factory.mktemp("prompts")
    return root, render(load_menu(MENU_PATH), root)


def copy_project(tmp_path: Path, root: Path, edit: Any = None) -> Path:
    """A project folder (menus/ + prompts/) holding the real menu, optionally edited."""
    (tmp_path / "menus").mkdir()
    text = MENU_PATH.read_text(encoding="utf-8")
    (tmp_path / "menus" / "free_dial.yaml").write_text(edit(text) if edit else text, encoding="utf-8")
    shutil.copytree(root, tmp_path / "prompts")
    return tmp_path / "menus" / "free_dial.yaml"


def test_every_prompt_in_every_language_has_a_telephone_file(rendered: tuple[Path, Any], menu: Menu) -> None:
    root, report = rendered
    items = fixed_prompts(menu)
    assert {i.lang for i in items} == set(menu.languages) and len(items) == len(report.rendered) > 150
    for item in items:
        info = soundfile.info(str(audio_file(root, item)))
        assert (info.samplerate, info.channels, info.format, info.subtype) == (8000, 1, "WAV", "ULAW"), item.key
        # Plausible for its text: espeak speaks 6-21 characters a second in these languages.
        assert 4 <= len(item.synth) / info.duration <= 30, (item.key, info.duration, len(item.synth))


def test_japanese_and_mandarin_are_rendered_from_their_readings(menu: Menu) -> None:
    by_key = {i.key: i for i in fixed_prompts(menu)}
    assert by_key["ja/goodbye"].synth == menu.nodes["goodbye"].say["ja"].reading
    assert re.fullmatch(r"[a-z0-9 ,.?!]+", by_key["zh/goodbye"].synth)


def test_a_second_render_does_nothing(rendered: tuple[Path, Any], menu: Menu) -> None:
    root, _ = rendered
    before = (root / "manifest.json").read_text()
    again = render(menu, root)
    assert again.rendered == [] and again.unchanged == len(fixed_prompts(menu))
    assert (root / "manifest.json").read_text() == before


def test_a_changed_prompt_renders_again_and_a_removed_one_is_reported(rendered: tuple[Path, Any],
                                                                      tmp_path: Path) -> None:
    path = copy_project(tmp_path, rendered[0], lambda t: t.replace(
        "Thank you for calling. Goodbye.", "Thank you for calling the free dial. Goodbye.").replace(
        "  lost_busy:", "  lost_busy_unused:").replace("unanswered: lost_busy", "unanswered: lost_busy_unused"))
    result = CliRunner().invoke(cli, ["prompts", "render", "--menu", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no progress bar, nor its label, when stderr is not a terminal
    assert "7 rendered" in result.output  # en/goodbye, and lost_busy under its new name in six languages
    manifest = read_manifest(tmp_path / "prompts")
    assert "en/goodbye" in manifest and "ja/lost_busy_unused" in manifest
    assert "  ja/lost_busy: no longer in the menu" in result.output


def test_a_studio_recording_is_kept_and_reported_when_its_text_changes(rendered: tuple[Path, Any],
                                                                       tmp_path: Path) -> None:
    path = copy_project(tmp_path, rendered[0])
    studio = tmp_path / "prompts" / "en" / "goodbye.wav"
    soundfile.write(str(studio), np.zeros(8000, dtype="float32"), 8000, subtype="ULAW", format="WAV")
    recording = studio.read_bytes()
    result = CliRunner().invoke(cli, ["prompts", "render", "--menu", str(path)])
    assert "1 studio recording(s) kept" in result.output and studio.read_bytes() == recording
    assert read_manifest(tmp_path / "prompts")["en/goodbye"].source == "recorded"
    path.write_text(path.read_text(encoding="utf-8").replace("Thank you for calling. Goodbye.", "Goodbye."),
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["prompts", "render", "--menu", str(path)])
    assert studio.read_bytes() == recording
    assert "recording en/goodbye.wav was made for an older text" in result.output
    lint = CliRunner().invoke(cli, ["lint", "--menu", str(path)])
    assert "warning: the recording en/goodbye.wav was made for an older text" in lint.output


# -- TwiML ----------------------------------------------------------------------------
def english_plays(text: str) -> str:
    """The menu with English set to play our audio (the other languages keep Twilio's voice)."""
    at = text.index("    audio: say", text.index("\n  en:\n"))
    return text[:at] + "    audio: play" + text[at + len("    audio: say"):]


def playing_app(path: Path) -> Any:
    return create_app(str(path), clock=lambda: WEEKDAY_MORNING,
                      config={"ALLOW_UNSIGNED": True, "STATE_SECRET": "audio", "MENU_CHECK_INTERVAL": 0,
                              "MENU_ARCHIVE": str(path.parent / "archive")}).test_client()


def english_main_menu(client: Any) -> ET.Element:
    first = ET.fromstring(client.post("/voice", data={"CallSid": "CA1"}).get_data(as_text=True))
    action = first.find("Gather").get("action")  # type: ignore[union-attr]
    return ET.fromstring(client.post(action, data={"CallSid": "CA1", "Digits": "2"}).get_data(as_text=True))


def test_twiml_plays_our_files_and_says_where_one_is_missing(rendered: tuple[Path, Any], tmp_path: Path) -> None:
    path = copy_project(tmp_path, rendered[0], english_plays)
    client = playing_app(path)
    gather = english_main_menu(client).find("Gather")
    assert gather is not None
    assert [v.tag for v in gather] == ["Play", "Play", "Play", "Play"]  # lost_card_first, fraud_warning, main, press_or_say
    url = gather[2].text or ""
    assert re.fullmatch(r"http://localhost/audio/en/main\.wav\?v=[0-9a-f]{8}", url)
    audio = client.get(url.removeprefix("http://localhost"))
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    assert audio.headers["ETag"] and "public" in audio.headers["Cache-Control"]
    assert "max-age=86400" in audio.headers["Cache-Control"]
    again = client.get(url.removeprefix("http://localhost"), headers={"If-None-Match": audio.headers["ETag"]})
    assert again.status_code == 304
    (tmp_path / "prompts" / "en" / "main.wav").unlink()
    client.application.extensions["ivr"].store.refresh()  # what each worker's watcher does every second
    gather = english_main_menu(client).find("Gather")
    assert gather is not None and [v.tag for v in gather] == ["Play", "Play", "Say", "Play"]
    assert (gather[2].text or "").startswith("Please choose from the following")
    assert client.get("/audio/en/main.wav").status_code == 404


def test_languages_that_say_never_play(rendered: tuple[Path, Any], tmp_path: Path) -> None:
    client = playing_app(copy_project(tmp_path, rendered[0]))
    assert {v.tag for v in english_main_menu(client).iter() if v.tag in ("Play", "Say")} == {"Say"}


# -- does it sound like the words? ----------------------------------------------------------
DIGITS = "zero one two three four five six seven eight nine".split()


def words(text: str) -> list[str]:
    tokens = re.findall(r"[a-z']+|\d", text.lower().replace("*", " star "))
    return [DIGITS[int(t)] if t.isdigit() else t for t in tokens]


def test_an_offline_recogniser_hears_the_english_prompts_as_written(menu: Menu) -> None:
    """pocketsphinx (its own English model, 16 kHz: decoded before the telephone conversion),
    with a grammar of the expected phrases: each rendered prompt must come back as its own words."""
    items = [i for i in fixed_prompts(menu) if i.lang == "en"]
    decoder = recogniser.english()
    recogniser.grammar(decoder, "prompts", sorted({" ".join(words(i.synth)) for i in items}))
    heard_right = []
    with synthesisers() as pool:
        spoken = list(pool.map(synthesise, [i.synth for i in items], [i.voice for i in items]))
    for item, (samples, rate) in zip(items, spoken, strict=True):
        hypothesis = recogniser.recognise(decoder, samples, rate)
        heard_right.append(hypothesis == " ".join(words(item.synth)))
        if not heard_right[-1]:
            print(f"\n  {item.key}: heard {hypothesis!r}")
    accuracy = sum(heard_right) / len(heard_right)
    print(f"\npocketsphinx recognised {sum(heard_right)}/{len(heard_right)} English prompts ({accuracy:.0%})")
    assert accuracy >= 0.9
