"""Engine steps per second on the free-dial menu and on generated menus of 10 to 1,000 nodes.

Run:  python bench/engine_steps.py [--seconds 1.0]

Every figure is also given as a ratio to the 10-node menu measured in the same run,
so a noisy, shared machine still shows whether the per-step cost stays flat.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import synthetic_menu  # noqa: E402

from ivr.engine import End, Engine, Input, Press, Silence, Speak, Transfer  # noqa: E402
from ivr.menu import Menu, load_menu  # noqa: E402

AT = dt.datetime(2022, 7, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
INPUTS: list[Input] = [Press(k) for k in "1234567890*"] + [Silence(), Speak("yes"), Speak("no")]


def steps_per_second(menu: Menu, seconds: float, seed: int = 1) -> float:
    """Random callers pressing random keys, restarted whenever a call ends."""
    engine, rng = Engine(menu), random.Random(seed)
    script = [rng.choice(INPUTS) for _ in range(4096)]
    call, _ = engine.start(AT)
    steps, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for event in script[steps % 4096: steps % 4096 + 256]:
            step = engine.step(call, event, AT)
            if isinstance(step.action, (Transfer, End)):
                call, _ = engine.start(AT)
        steps += 256
    return steps / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    menus = {f"{n} nodes": synthetic_menu(n) for n in (10, 100, 1000)}
    menus["free dial"] = load_menu()
    rates = {name: steps_per_second(menu, args.seconds) for name, menu in menus.items()}
    base = rates["10 nodes"]
    print(f"{'menu':<12} {'steps/s':>10} {'us/step':>9} {'vs 10 nodes':>12}")
    for name, rate in rates.items():
        print(f"{name:<12} {rate:>10,.0f} {1e6 / rate:>9.1f} {rate / base:>11.2f}x")


if __name__ == "__main__":
    main()
