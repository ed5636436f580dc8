"""Instructions per webhook, counted by valgrind: a noise-free measure of the work a change removes.

Run:  python bench/instructions.py [--requests 300] [--targets constant ivr]

On a shared machine, time per request swings by +-10% from run to run; the number of
instructions a request executes does not (two runs agree to ~0.3%), so this tells whether
a change removes work when a timed benchmark cannot. Each target's calls (those of
bench/webhooks.py, recorded as bench/webhooks_inprocess.py does) are replayed under
valgrind's callgrind once and three times over; the difference over the extra requests
is the count per request, start-up excluded. The start-up's objects are frozen out of the
garbage collector first, as in a served worker (gunicorn.conf.py): otherwise a full collection
over them fell inside one run's extra requests and not another's, and moved a target's count
by a quarter from run to run. Instructions are not time (a cache miss
counts as one), so the timed benchmarks still say what a change is worth.
Needs valgrind (Debian: `apt install valgrind`); about a minute per target.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

if not __package__:  # run as `python bench/x.py`, not `-m bench.x`: sys.path starts at bench/, not the checkout
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.webhooks_inprocess import make_apps, record, replay, validator  # noqa: E402
from ivr.recorder import Recorder

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("constant", "tutorial", "tutorial signed", "ivr", "ivr signed")
EXTRA = 2  # replays counted beyond the first


def counted(target: str, requests: int, replays: int) -> int:
    """Instructions of a child process that records `requests` calls and replays them `replays` times,
    its call records in a database of its own (an empty one each time: a database that earlier runs
    filled makes SQLite's one-off work, a checkpoint say, fall in one run and not the other)."""
    with tempfile.TemporaryDirectory() as data:
        run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                              "-m", "bench.instructions", "--replay", target, str(replays), "--requests", str(requests)],
                             cwd=ROOT, capture_output=True, text=True,
                             # the same dict layouts every run; no watcher thread, whose work is per second
                             env={**os.environ, "PYTHONHASHSEED": "0", "IVR_MENU_CHECK_INTERVAL": "0",
                                  "XDG_DATA_HOME": data})
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or not found:
        raise SystemExit(f"{target}: valgrind failed:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def in_this_thread(app: Any) -> Recorder | None:
    """The service's call records written by the replaying thread, in batches of what each replay
    queued: the writer's work per webhook counted whole, not what its thread did in however many
    seconds valgrind's run took (which moved with the host's load)."""
    voice = getattr(app, "extensions", {}).get("ivr", None)
    if voice is None or not isinstance(voice.voice.records, Recorder):
        return None
    voice.voice.records = Recorder(voice.voice.records.db, background=False)
    return voice.voice.records


def per_request(target: str, requests: int) -> float:
    once, more = counted(target, requests, 1), counted(target, requests, 1 + EXTRA)
    return (more - once) / (EXTRA * requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="recorded per target")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--replay", nargs=2, metavar=("TARGET", "TIMES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay:  # the child valgrind counts
        target, times = args.replay[0], int(args.replay[1])
        app = make_apps()[target]
        records = in_this_thread(app)
        requests = record(app, args.requests, validator(target))
        gc.freeze()  # as gunicorn.conf.py has a worker: full collections then walk what requests made, not the start-up
        for _ in range(times):
            replay(app, requests)
            if records is not None:
                records.flush()
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt install valgrind)")
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:  # one valgrind per core
        counts = dict(zip(args.targets, pool.map(lambda t: per_request(t, args.requests), args.targets), strict=True))
    base = counts.get("constant")
    print(f"{'target':<15} {'instructions/request':>21} {'vs constant':>12}")
    for target, count in counts.items():
        print(f"{target:<15} {count:>21,.0f} {f'{count / base:.2f}x' if base else '-':>12}")
    for target, other in (("ivr signed", "tutorial signed"), ("ivr", "tutorial")):
        if target in counts and other in counts:
            print(f"{target} vs {other}: {counts[target] / counts[other]:.2f}x the instructions")


if __name__ == "__main__":
    main()
