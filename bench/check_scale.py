"""`ivr check` by menu size, with loops and without: CPU time and peak memory of each check.

Run:  python bench/check_scale.py [--sizes 10 100 1000]

Each menu of bench/synthetic.py (a ring of menus with "back" keys and returning questions,
or a line of them where only the main-menu key leads back) is checked in a process of its
own, so its peak resident memory is its own; the free dial is checked too. Figures are also
given as ratios to the 10-node line, measured in the same run. "exact" says whether the
worst case was searched exhaustively or, past `ivr.check.EXACT_LIMIT`, is a greedy walk
(a lower bound).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

if not __package__:  # run as `python bench/x.py`, not `-m bench.x`: sys.path starts at bench/, not the checkout
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

ROOT = Path(__file__).resolve().parent.parent


def measure(kind: str, nodes: int) -> dict[str, object]:
    """One check, in this process: what the child prints."""
    from bench.synthetic import synthetic_menu
    from ivr.check import check
    from ivr.loader import load_menu

    menu = load_menu() if kind == "free dial" else synthetic_menu(nodes, loops=kind == "ring")
    began = time.process_time()
    report = check(menu)
    worst = [e.worst for e in report.languages.values() if e.worst is not None]
    return {"cpu": time.process_time() - began, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "states": report.states, "steps": report.steps, "exact": all(w.exact for w in worst),
            "worst": max(w.seconds for w in worst), "problems": len(report.problems)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]))))
        return
    runs = [(kind, n) for kind in ("line", "ring") for n in args.sizes] + [("free dial", 0)]
    rows = {}
    for kind, n in runs:
        out = subprocess.run([sys.executable, "-m", "bench.check_scale", "--child", kind, str(n)], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        rows[f"{kind} {n}" if n else kind] = json.loads(out)
    base = rows[f"line {args.sizes[0]}"]
    print(f"{'menu':<11} {'states':>7} {'inputs':>8} {'CPU s':>7} {'vs line':>8} {'peak MB':>8} {'worst s':>8} "
          f"{'exact':>6} {'problems':>9}")
    for name, r in rows.items():
        print(f"{name:<11} {r['states']:>7} {r['steps']:>8} {r['cpu']:>7.2f} {r['cpu'] / base['cpu']:>7.1f}x "  # type: ignore[operator]
              f"{r['rss']:>8.0f} {r['worst']:>8.0f} {'yes' if r['exact'] else 'no':>6} {r['problems']:>9}")


if __name__ == "__main__":
    main()
