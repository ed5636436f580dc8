"""Engine steps per second, webhook cost and menu load time, on the free-dial menu and on
generated menus of 10, 100 and 1,000 nodes.

Run:  python bench/engine_steps.py [--seconds 0.5] [--rounds 3]

Every figure is also given as a ratio to the 10-node menu measured in the same run,
so a noisy, shared machine still shows whether the per-step cost stays flat.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

if not __package__:  # run as `python bench/x.py`, not `-m bench.x`: sys.path starts at bench/, not the checkout
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.service import OPEN, service  # noqa: E402
from bench.synthetic import synthetic_menu_data  # noqa: E402
from ivr.engine import End, Engine, Input, Press, Silence, Speak, Transfer  # noqa: E402
from ivr.loader import check_text, load_menu  # noqa: E402
from ivr.menu import Menu, default_menu_path  # noqa: E402

INPUTS: list[Input] = [Press(k) for k in "1234567890*"] + [Silence(), Speak("yes"), Speak("no")]


def steps_per_second(menu: Menu, seconds: float, seed: int = 1) -> float:
    """Random callers pressing random keys, restarted whenever a call ends."""
    engine, rng = Engine(menu), random.Random(seed)
    script = [rng.choice(INPUTS) for _ in range(4096)]
    call, _ = engine.start(OPEN)
    steps, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for event in script[steps % 4096: steps % 4096 + 256]:
            step = engine.step(call, event, OPEN)
            if isinstance(step.action, (Transfer, End)):
                call, _ = engine.start(OPEN)
        steps += 256
    return steps / seconds


def load_seconds(text: str) -> float:
    """Parse, validate and lint a menu file's text (what the service does on each change)."""
    began = time.perf_counter()
    check_text(text, "menu.yaml")
    return time.perf_counter() - began


def webhook_us(path: Path, seconds: float) -> float:
    """Microseconds per /voice/gather webhook through the whole Flask app, in this process,
    once the TwiML of the steps walked is cached (a first pass warms it, as a live service is)."""
    client = service(str(path), config={"ALLOW_UNSIGNED": True, "STATE_SECRET": "b"}).test_client()
    walk(client, seconds)
    return walk(client, seconds)


def walk(client: Any, seconds: float) -> float:
    params = {"CallSid": "CA1", "From": "+819000000000"}
    body = client.post("/voice", data=params).get_data(as_text=True)
    count, deadline, began = 0, time.perf_counter() + seconds, time.perf_counter()
    while time.perf_counter() < deadline:
        action = re.search(r'action="([^"]+)"', body)
        if action is None:  # the call ended: place another
            body = client.post("/voice", data=params).get_data(as_text=True)
            continue
        key = "1" if count % 7 else "3"
        body = client.post(action.group(1).replace("&amp;", "&"), data={**params, "Digits": key}).get_data(as_text=True)
        count += 1
    return (time.perf_counter() - began) * 1e6 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are shown")
    args = parser.parse_args()
    logging.getLogger("ivr.web").setLevel(logging.ERROR)
    texts = {f"{n} nodes": yaml.safe_dump(synthetic_menu_data(n), allow_unicode=True) for n in (10, 100, 1000)}
    texts["free dial"] = default_menu_path().read_text(encoding="utf-8")
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in texts}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, text in texts.items():
            paths[name] = Path(tmp) / name.replace(" ", "_") / "menu.yaml"
            paths[name].parent.mkdir()
            paths[name].write_text(text, encoding="utf-8")
        for _ in range(args.rounds):  # interleaved, so a noisy neighbour slows every size alike
            for name, text in texts.items():
                menu = load_menu(paths[name])
                samples[name].append((steps_per_second(menu, args.seconds), webhook_us(paths[name], args.seconds),
                                      load_seconds(text)))
    rows = {name: tuple(statistics.median(col) for col in zip(*runs, strict=True)) for name, runs in samples.items()}
    base_rate, base_hook, base_load = rows["10 nodes"]
    print(f"{'menu':<10} {'steps/s':>9} {'vs 10':>6} {'us/webhook':>11} {'vs 10':>6} {'load ms':>8} {'vs 10':>7}")
    for name, (rate, hook, load) in rows.items():
        print(f"{name:<10} {rate:>9,.0f} {rate / base_rate:>5.2f}x {hook:>11.0f} {hook / base_hook:>5.2f}x "
              f"{load * 1000:>8.1f} {load / base_load:>6.1f}x")


if __name__ == "__main__":
    main()
