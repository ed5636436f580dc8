"""How long `ivr graph` takes per Graphviz layout, on the free-dial menu and generated menus.

Run:  python bench/graph_render.py [--timeout 60] [--sizes 20 40 100 1000]

Each generated menu (bench/synthetic.py: n menu nodes, n questions, 7n edges drawn) is
drawn as SVG with dot, sfdp and neato. Times are wall-clock seconds for building the
DOT source plus running the layout program, and ratios to the free-dial menu drawn with
dot in the same run. A layout still running after --timeout is stopped, and not tried
on larger menus (shown as "> timeout"). Small drawings take the best of 3 runs.
This is what `ivr.graph.DOT_MAX_EDGES` is chosen from.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

if not __package__:  # run as `python bench/x.py`, not `-m bench.x`: sys.path starts at bench/, not the checkout
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.synthetic import synthetic_menu  # noqa: E402
from ivr.graph import DOT_MAX_EDGES, LAYOUTS, build, choose_layout, split_transitions  # noqa: E402
from ivr.loader import load_menu  # noqa: E402
from ivr.menu import Menu  # noqa: E402


def seconds(menu: Menu, layout: str, timeout: float, tries: int = 3) -> float | None:
    """Best of `tries` (one, past a second): build the diagram and lay it out as SVG.

    None if the layout program ran out of time.
    """
    best = float("inf")
    for _ in range(tries):
        began = time.perf_counter()
        source = build(menu, layout).source.encode()
        try:
            subprocess.run([layout, "-Tsvg"], input=source, capture_output=True, check=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        best = min(best, time.perf_counter() - began)
        if best > 1:
            break
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a layout is given up")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 40, 100, 1000], help="generated menu sizes")
    args = parser.parse_args()
    menus = {"free dial": load_menu(), **{f"{n} nodes": synthetic_menu(n) for n in args.sizes}}
    seconds(menus["free dial"], "dot", args.timeout, tries=1)  # warm-up: imports, first machine
    base = seconds(menus["free dial"], "dot", args.timeout)
    assert base is not None
    given_up: set[str] = set()
    print(f"{'menu':<10} {'edges':>6} {'auto':>5} " + " ".join(f"{name:>18}" for name in LAYOUTS))
    for name, menu in menus.items():
        edges = len(split_transitions(menu)[0])
        cells = []
        for layout in LAYOUTS:
            took = None if layout in given_up else seconds(menu, layout, args.timeout)
            if took is None:
                given_up.add(layout)
                cells.append(f"{'> ' + str(int(args.timeout)) + ' s':>18}")
            else:
                cells.append(f"{took:>7.2f} s {took / base:>8.1f}x")
        print(f"{name:<10} {edges:>6} {choose_layout(edges):>5} " + " ".join(cells), flush=True)
    print(f"free dial with dot = 1.0x ({base:.3f} s); auto = dot up to {DOT_MAX_EDGES} edges, then sfdp")


if __name__ == "__main__":
    main()
