"""Reading a menu file: YAML with line numbers, the schema, then every lint check.

The one way in for the service, `ivr lint` and every tool, so none of them can use a menu
that another would refuse. Sits above the model (`ivr.menu`) and the checks (`ivr.lint`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from .errors import MenuError, Problem
from .lint import check, where
from .menu import Menu, default_menu_path
from .problems import schema_problems
from .source import SourceSyntaxError, parse


def load_menu(path: str | Path | None = None) -> Menu:
    """Load and check a menu file (default: $IVR_MENU or the bundled one); raise MenuError listing every error."""
    menu, problems = check_file(path or default_menu_path())
    if menu is None or any(p.severity == "error" for p in problems):
        raise MenuError(problems)
    return menu


def check_file(path: str | Path) -> tuple[Menu | None, list[Problem]]:
    """Parse, validate and check `path`; return the menu (None if unusable) and all problems."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, 1, f"cannot read the menu file: {exc}")]
    return check_text(text, file)


def check_text(text: str, file: str) -> tuple[Menu | None, list[Problem]]:
    try:
        source = parse(text, file)
    except SourceSyntaxError as exc:
        return None, [Problem(file, exc.line, f"YAML syntax: {exc.message}")]
    problems = [
        Problem(file, second, f'duplicate key "{path[-1]}" in {where(path[:-1])} (first at line {first}); '
                "each key may appear once: remove or renumber one")
        for path, first, second in source.duplicates
    ]
    if not isinstance(source.data, dict):
        return None, problems + [Problem(file, 1, "the menu file must be a mapping with menu:, languages: and nodes:")]
    try:
        menu = Menu.model_validate(source.data)
    except ValidationError as exc:
        return None, problems + schema_problems(source, exc, Menu, where)
    menu._source = source
    problems += check(menu, source)
    problems.sort(key=lambda p: (p.line, p.severity))
    return menu, problems
