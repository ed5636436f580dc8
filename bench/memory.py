"""Resident memory of the service after 100 and after 10,000 completed calls, and the size of
one call's state.

Run:  python bench/memory.py [--calls 10000]

Calls go through the whole Flask service in this process (webhooks, signed state, TwiML),
as a mix of scripts: menu choices, the Mynapoint Q&A, silence, wrong keys, transfers.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
from pathlib import Path

if not __package__:  # run as `python bench/x.py`, not `-m bench.x`: sys.path starts at bench/, not the checkout
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.service import OPEN, service  # noqa: E402
from ivr.engine import Engine  # noqa: E402
from ivr.loader import load_menu  # noqa: E402
from ivr.simulator import parse_script, play  # noqa: E402
from ivr.state import StateCodec  # noqa: E402
from ivr.wire import WireLine, wsgi_transport  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

SCRIPTS = ["2 5 1 1 2 1 1 3", "1 1", "2 wait 3", "2 5 1 say:yes say:no 1 1 1", "3 7 4 7", "2 2", "1 5 1 2",
           "wait wait wait 1", "2 1 busy 2", "6 5 1 2 1"]


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    app = service(str(ROOT / "menus" / "free_dial.yaml"), config={"ALLOW_UNSIGNED": True, "STATE_SECRET": "bench"})
    menu = load_menu(ROOT / "menus" / "free_dial.yaml")
    rng = random.Random(7)

    def calls(n: int) -> None:
        for _ in range(n):
            list(play(WireLine(wsgi_transport(app), menu), parse_script(rng.choice(SCRIPTS))))

    calls(100)
    gc.collect()
    after_100 = rss_kib()
    calls(900)  # caches of rendered prompts and TwiML fill within the first calls, then stay
    gc.collect()
    after_1000 = rss_kib()
    calls(args.calls - 1000)
    gc.collect()
    after_all = rss_kib()
    engine = Engine(menu)
    call, _ = engine.start(OPEN)
    call.answers = {"has_card": True, "round1_full": False, "health_insurance": True, "public_account": False}
    token = StateCodec("bench", 3600).dump(call, "CA" + "0" * 32, restarts=0)
    print(f"RSS after 100 calls:    {after_100:>8,} KiB")
    print(f"RSS after 1,000 calls:  {after_1000:>8,} KiB")
    print(f"RSS after {args.calls:,} calls: {after_all:>8,} KiB  ({after_all / after_100:.3f}x the 100-call figure; "
          f"{(after_all - after_1000) * 1024 / (args.calls - 1000):.1f} bytes per call after the first 1,000)")
    print(f"one call's state: {len(token)} bytes in the action URL (with all four answers)")


if __name__ == "__main__":
    main()
