"""Full render time of every prompt, and a second run with nothing changed.

Run:  python bench/audio_render.py      (needs espeak-ng)

The second run is compared with the first, measured in the same run on the same machine.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ivr.audio import render
from ivr.loader import load_menu

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    menu = load_menu(ROOT / "menus" / "free_dial.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        first = render(menu, Path(tmp))
        full = time.perf_counter() - began
        began = time.perf_counter()
        second = render(menu, Path(tmp))
        again = time.perf_counter() - began
    print(f"full render:   {len(first.rendered)} prompts in {full:.2f} s")
    print(f"second render: {len(second.rendered)} rendered, {second.unchanged} unchanged in {again:.3f} s "
          f"({again / full:.3f}x the full render)")


if __name__ == "__main__":
    main()
