"""The package's layering: no import cycles, and the core knows nothing of Flask, click or terminals."""

from __future__ import annotations

import ast
from pathlib import Path

from support import ROOT

PACKAGE = ROOT / "ivr"
CORE = ("menu", "engine", "edges", "catalogue", "voice", "live", "loader", "lint", "state", "twiml")
"""Modules that serve both front ends: the web app and the terminal simulator."""


def imports(path: Path) -> tuple[set[str], set[str]]:
    """(modules of the package, outside top-level packages) that `path` imports, lazily or not."""
    ours, theirs = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            ours.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom) and node.module:
            theirs.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            theirs.update(a.name.split(".")[0] for a in node.names)
    return ours, theirs


def graph() -> dict[str, set[str]]:
    return {p.stem: imports(p)[0] - {p.stem} for p in PACKAGE.glob("*.py")}


def test_no_module_imports_one_that_imports_it_back() -> None:
    deps = graph()
    for start in deps:
        seen, todo = set(), list(deps[start])
        while todo:
            here = todo.pop()
            assert here != start, f"ivr.{start} imports itself through ivr.{here}"
            if here not in seen:
                seen.add(here)
                todo.extend(deps.get(here, ()))


def test_the_core_imports_no_flask_click_or_audio_output() -> None:
    for name in CORE:
        theirs = imports(PACKAGE / f"{name}.py")[1]
        assert not theirs & {"flask", "click", "pyttsx3", "werkzeug"}, name


def test_the_model_and_the_live_menus_stay_below_the_web_layer() -> None:
    deps = graph()
    assert not deps["menu"] - {"source"}  # the model imports only the YAML reader
    assert not deps["live"] & {"twiml", "audio", "voice", "web"}
    assert not deps["wire"] & {"web"}
