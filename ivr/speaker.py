"""`ivr sim --speak`: say each prompt aloud through pyttsx3, where the machine has audio.

Speech runs in a spawned helper process (see `audio.synthesisers`), one prompt at a time,
so the transcript and the voice stay in step. Without an audio device it says so once and
the call goes on silently: the transcript is the same either way.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

from .audio import synthesisers
from .menu import Menu
from .simulator import Event
from .speech import spoken

NO_AUDIO = "no audio output on this machine (no sound device): --speak stays silent; the transcript is unchanged"


def has_audio() -> bool:
    """A playback device, or a sound server to reach one (Linux); other systems always have one."""
    if not sys.platform.startswith("linux"):
        return True
    snd = Path("/dev/snd")
    if snd.is_dir() and any(snd.glob("pcmC*D*p")):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    return bool(os.environ.get("PULSE_SERVER")) or (bool(runtime) and Path(runtime, "pulse", "native").exists())


def _speak_aloud(text: str, voice: str) -> None:
    import pyttsx3

    engine = pyttsx3.init("espeak" if sys.platform.startswith("linux") else None)
    engine.setProperty("voice", voice)
    engine.say(text)
    engine.runAndWait()


def reading(menu: Menu, event: Event) -> str:
    """What espeak should read for a `say` event: the reading the engine gave it (eligibility
    answers too, dates filled in kana or pinyin), else the prompt's reading where the event says
    the prompt's text as written (a call through TwiML), otherwise what the event says."""
    if event.get("reading"):
        return str(event["reading"])
    prompt, code = str(event.get("prompt")), str(event["lang"])
    source = menu.nodes[prompt].say if prompt in menu.nodes else menu.prompts.get(prompt, {})
    text = source.get(code)
    if text is not None and text.reading and spoken(text) == event["spoken"]:
        return spoken(text.reading)
    return str(event["spoken"])


class Speaker:
    def __init__(self, menu: Menu, notice: Callable[[str], None]) -> None:
        self.menu = menu
        self.pool: ProcessPoolExecutor | None = synthesisers(1) if has_audio() else None
        if self.pool is None:
            notice(NO_AUDIO)

    def __call__(self, event: Event) -> None:
        if self.pool is None or event["type"] != "say":
            return
        lang = self.menu.languages.get(str(event["lang"]))
        if lang is None or not lang.synth_voice:
            return
        self.pool.submit(_speak_aloud, reading(self.menu, event), lang.synth_voice).result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
