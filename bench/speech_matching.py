"""What hearing a spoken choice costs a webhook, against pressing its key.

Run:  python -m bench.speech_matching [--rounds 9] [--calls 2000]

From the same state (a caller at a node, the state token in the action URL), the service's
protocol (`ivr.voice`, no sockets, no Flask) gets the key's webhook (Digits) and the speech
webhook that chooses the same (SpeechResult + Confidence): both lead to the same next step,
so the difference is the matching. Key and speech take turns within each round (paired);
the figure is the median round's ratio and its difference in microseconds per webhook. Cases:
the main menu ("I lost my card" against 2), the language choice (every language's names are
heard there: the largest phrase list) and words that fit nothing (asked again, against a
wrong key), and the engine's step alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if not __package__:  # run as `python bench/x.py`: sys.path starts at bench/, not the checkout
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.service import OPEN
from ivr.engine import Call, Engine, Press, Speak
from ivr.loader import load_menu
from ivr.voice import Voice
from ivr.wire import Request, WireLine, voice_transport

ROOT = Path(__file__).resolve().parent.parent
MENU = ROOT / "menus" / "free_dial.yaml"
CASES = (  # (case, the caller's language at the main menu or None at the language choice, key, words)
    ("main menu: lost card", "en", "2", "I lost my card"),
    ("language choice", None, "2", "English please"),
    ("words that fit nothing", "ja", "7", "えーと、なんでしたっけ"),
)


def webhooks(voice: Voice, lang: str | None, key: str, words: str) -> tuple[Request, Request]:
    """The key's and the words' webhook from a caller waiting at the main menu in `lang` (a call
    started with ?lang=), or at the language choice (None)."""
    line = WireLine(voice_transport(voice), voice.menu)
    line.start(lang)
    return (Request(line.action, {**line.base, "Digits": key}),
            Request(line.action, {**line.base, "SpeechResult": words, "Confidence": "0.87"}))


def timed(run: Callable[[], object], count: int) -> float:
    """Microseconds per call of `run`."""
    began = time.perf_counter()
    for _ in range(count):
        run()
    return (time.perf_counter() - began) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=2000, help="webhooks of each kind per round")
    args = parser.parse_args()
    voice = Voice.local(MENU, lambda: OPEN)
    transport = voice_transport(voice)
    engine = Engine(load_menu(MENU))
    print(f"{'case':<32}{'key us':>9}{'speech us':>11}{'ratio':>8}{'added us':>10}   (median of {args.rounds} "
          f"paired rounds, {args.calls} webhooks each)")
    for case, lang, key, words in CASES:
        press, speak = webhooks(voice, lang, key, words)
        assert transport(press).status == transport(speak).status == 200
        rounds = []
        for _ in range(args.rounds):
            rounds.append((timed(lambda req=press: transport(req), args.calls),
                           timed(lambda req=speak: transport(req), args.calls)))
        _row(case, rounds)
    rounds = []
    for _ in range(args.rounds):
        rounds.append((timed(lambda: engine.step(Call("main", "en", engine.revision), Press("2"), OPEN), args.calls),
                       timed(lambda: engine.step(Call("main", "en", engine.revision), Speak("I lost my card"), OPEN),
                             args.calls)))
    _row("engine step alone: lost card", rounds)


def _row(case: str, rounds: list[tuple[float, float]]) -> None:
    key, speech = (statistics.median(r[i] for r in rounds) for i in (0, 1))
    ratio = statistics.median(s / k for k, s in rounds)
    added = statistics.median(s - k for k, s in rounds)
    print(f"{case:<32}{key:>9.1f}{speech:>11.1f}{ratio:>7.2f}x{added:>10.1f}")


if __name__ == "__main__":
    main()
