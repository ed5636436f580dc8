"""Prompt audio: every fixed prompt rendered with pyttsx3 (espeak-ng), or recorded in a studio.

Files live in `prompts/<lang>/<prompt-id>.wav`, in WAV, G.711 mu-law, 8 kHz mono: what the
phone network carries, so Twilio plays it without transcoding, at 8 KB a second.
`prompts/manifest.json` records, for each file, a hash of the text and voice it was made
from and a hash of the file itself. So a second render does nothing, a changed prompt is
rendered again, a removed one is reported, and a file we did not write is recognised as a
studio recording: never overwritten, and reported when its prompt's text changes.

pyttsx3 engines are per process and never cross a fork: parallel renders run in spawned
worker processes, each with its own engine.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .catalogue import said_as_written
from .menu import Menu
from .speech import display, spoken

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

FORMAT = "wav/mu-law/8000/mono"
RATE = 8000
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class PromptText:
    """One fixed prompt in one language, and what the synthesiser should read for it."""

    lang: str
    prompt: str
    text: str
    """As the engine shows it (`Utterance.text`), so TwiML can find the file for an utterance."""
    synth: str
    voice: str

    @property
    def key(self) -> str:
        return f"{self.lang}/{self.prompt}"

    @property
    def text_hash(self) -> str:
        return _hash(json.dumps([self.synth, self.voice, FORMAT], ensure_ascii=False).encode())


def fixed_prompts(menu: Menu) -> list[PromptText]:
    """Every prompt the engine says as written, per language with a synthesiser voice
    (eligibility answers are composed per call, so Twilio's voice says those)."""
    out = []
    for entry in said_as_written(menu).values():
        for lang, text in entry.texts.items():
            voice = menu.languages[lang].synth_voice if lang in menu.languages else None
            if voice:
                out.append(PromptText(lang, str(entry.said_as), display(text), spoken(text.reading or text),
                                      voice))
    return out


def default_prompts_dir(menu_path: Path) -> Path:
    """`prompts/` beside `menus/` (the project layout), else beside the menu file."""
    folder = menu_path.resolve().parent
    return (folder.parent if folder.name == "menus" else folder) / "prompts"


# -- manifest and state ---------------------------------------------------------------
@dataclass
class Entry:
    text_hash: str
    file_hash: str
    source: str  # "rendered" or "recorded"


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def read_manifest(root: Path) -> dict[str, Entry]:
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        return {key: Entry(**value) for key, value in data.get("prompts", {}).items()}
    except (OSError, ValueError, TypeError):
        return {}


def write_manifest(root: Path, entries: dict[str, Entry]) -> None:
    data = {"format": FORMAT, "prompts": {k: vars(v) for k, v in sorted(entries.items())}}
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def audio_file(root: Path, item: PromptText) -> Path:
    return root / item.lang / f"{item.prompt}.wav"


@dataclass
class Survey:
    """How each prompt's audio stands against the menu."""

    fresh: list[PromptText] = field(default_factory=list)
    to_render: list[PromptText] = field(default_factory=list)
    recorded: list[PromptText] = field(default_factory=list)
    stale_recordings: list[PromptText] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    entries: dict[str, Entry] = field(default_factory=dict)
    """The manifest as it should be after this survey."""


def survey(menu: Menu, root: Path) -> Survey:
    manifest = read_manifest(root)
    result = Survey()
    items = fixed_prompts(menu)
    for item in items:
        path, entry = audio_file(root, item), manifest.get(item.key)
        file_hash = _hash(path.read_bytes()) if path.is_file() else None
        if file_hash and (entry is None or entry.file_hash != file_hash or entry.source == "recorded"):
            # Not the file we wrote: a studio recording, made for the text in service when first seen.
            entry = entry if entry and entry.source == "recorded" and entry.file_hash == file_hash else \
                Entry(item.text_hash, file_hash, "recorded")
            result.entries[item.key] = entry
            (result.recorded if entry.text_hash == item.text_hash else result.stale_recordings).append(item)
        elif file_hash and entry and entry.text_hash == item.text_hash:
            result.entries[item.key] = entry
            result.fresh.append(item)
        else:
            result.to_render.append(item)
    keys = {item.key for item in items}
    result.removed = sorted(k for k in manifest if k not in keys)
    return result


# -- synthesis -------------------------------------------------------------------------
_engine: Any = None


def synthesise(text: str, voice: str, attempts: int = 3) -> tuple[Any, int]:
    """Speak `text` with espeak-ng through pyttsx3; return (samples, sample rate).

    pyttsx3's espeak driver now and then finishes without writing the audio (an empty or
    missing file): such a render is tried again, and refused if it never succeeds.
    """
    import tempfile

    import pyttsx3
    import soundfile

    global _engine
    if _engine is None:  # one engine per process, made in the process that uses it
        _engine = pyttsx3.init("espeak")
    for _ in range(attempts):
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.wav"
            _engine.setProperty("voice", voice)
            with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to ..."
                _engine.save_to_file(text, str(raw))
                _engine.runAndWait()
            try:
                samples, rate = soundfile.read(str(raw), dtype="float32")
            except (OSError, RuntimeError):  # soundfile.LibsndfileError is a RuntimeError
                continue
        if len(samples):
            return samples, int(rate)
    raise RuntimeError(f"espeak-ng produced no audio for voice {voice} after {attempts} tries: {text[:40]!r}")


def to_telephone(samples: Any, rate: int, path: Path) -> None:
    """Resample to 8 kHz mono and write G.711 mu-law WAV."""
    import soundfile
    import soxr

    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.wav")
    soundfile.write(str(tmp), soxr.resample(samples, rate, RATE), RATE, subtype="ULAW", format="WAV")
    os.replace(tmp, path)  # never leave a half-written file where Twilio could fetch it


def _render_one(job: tuple[str, str, str]) -> str:
    text, voice, path = job
    samples, rate = synthesise(text, voice)
    to_telephone(samples, rate, Path(path))
    return _hash(Path(path).read_bytes())


def synthesisers(workers: int = 1) -> ProcessPoolExecutor:
    """Processes to synthesise in. espeak-ng runs only there, never in the calling process:
    a pyttsx3 engine must not cross a fork or a thread, and its library has crashed a host
    process on the way out. Spawned, so they inherit nothing. (Imported here: `ivr lint` and
    `ivr sim` read this module and start no process.)"""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


@dataclass
class Report:
    rendered: list[str]
    unchanged: int
    recorded: list[str]
    stale_recordings: list[str]
    removed: list[str]


def render(menu: Menu, root: Path, workers: int | None = None,
           progress: Callable[[Iterable[PromptText]], Iterator[PromptText]] | None = None) -> Report:
    """Render every prompt whose audio is missing or out of date; leave recordings alone."""
    state = survey(menu, root)
    jobs = [(item.synth, item.voice, str(audio_file(root, item))) for item in state.to_render]
    done: list[str] = []
    try:
        if jobs:
            with synthesisers(min(workers or 4, os.cpu_count() or 1, len(jobs))) as pool:
                hashes = pool.map(_render_one, jobs, chunksize=4)
                for item, file_hash in zip((progress or iter)(state.to_render), hashes, strict=True):
                    state.entries[item.key] = Entry(item.text_hash, file_hash, "rendered")
                    done.append(item.key)
    finally:  # even when a render fails or is interrupted: our files must never pass for recordings
        write_manifest(root, state.entries)
    return Report(done, len(state.fresh), [i.key for i in state.recorded],
                  [i.key for i in state.stale_recordings], state.removed)


# -- what TwiML plays ----------------------------------------------------------------------
def playable(menu: Menu, root: Path) -> dict[tuple[str, str, str], str]:
    """(lang, prompt, text) -> file path under /audio, for languages that play our audio,
    where the file is fresh (rendered for this text, or a recording made for it)."""
    state = survey(menu, root)
    out = {}
    for item in state.fresh + state.recorded:
        if menu.languages[item.lang].audio == "play":
            version = state.entries[item.key].file_hash[:8]
            out[(item.lang, item.prompt, item.text)] = f"{item.lang}/{item.prompt}.wav?v={version}"
    return out
