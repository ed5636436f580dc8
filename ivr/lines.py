"""Which menu answers a call: the number called (Twilio's `To`) chooses the line.

`menus/lines.yaml` maps the service's numbers to menu files beside it. A number it does not
list, a missing `To`, and every call when there is no such file get the service's own menu
(`IVR_MENU`, the default line). Each line is a `MenuStore` of its own, so every menu is
checked, live-reloaded, archived and kept for calls in progress exactly as the free dial is.

The mapping is read by the default line's watcher (after each of its refreshes, outside any
caller's webhook) when the file changed. One that fails its checks is refused, its problems
logged once with file:line, and the last good mapping keeps serving; at start, a refused
mapping leaves every number on the default line. A call's state names its line
(`Call.line`), so a call stays on its menu whatever the mapping says later; a line this
worker does not know (a worker started after the mapping dropped it) restarts the call on
the line its `To` now gets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .archive import Archive
from .errors import MenuError, Problem
from .live import MenuStore
from .problems import schema_problems
from .source import SourceSyntaxError, parse

log = logging.getLogger("ivr.live")
LINES_FILE = "lines.yaml"
"""The mapping's name, beside the default menu (`menus/lines.yaml`)."""
Number = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{5,14}$")]
MenuFile = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.ya?ml$")]


class LineMap(BaseModel):
    """The mapping file: each number called, as Twilio sends it in `To` (E.164), and the
    menu file in the same folder that answers it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    numbers: dict[Number, MenuFile] = Field(default_factory=dict)


def default_lines_path(menu_path: Path) -> Path:
    return menu_path.parent / LINES_FILE


def check_lines(path: Path) -> tuple[LineMap | None, list[Problem]]:
    """Read and check a mapping: its YAML, its schema, and that each menu it names is a file
    beside it (each menu's own checks are its store's, or `ivr lines`). Problems as file:line."""
    file = str(path)
    try:
        source = parse(path.read_text(encoding="utf-8"), file)
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, 1, f"cannot read the line mapping: {exc}")]
    except SourceSyntaxError as exc:
        return None, [Problem(file, exc.line, f"YAML syntax: {exc.message}")]
    problems = [Problem(file, second, f'"{key_path[-1]}" appears twice (first at line {first}); '
                        "a number is answered by one menu: keep one") for key_path, first, second in source.duplicates]
    if problems:
        return None, problems
    try:
        lines = LineMap.model_validate({} if source.data is None else source.data)
    except ValidationError as exc:
        return None, schema_problems(source, exc, LineMap, _where)
    for number, name in lines.numbers.items():
        menu = path.parent / name
        here = source.line(("numbers", number))
        if menu.resolve() == path.resolve():
            problems.append(Problem(file, here, f"{number} names this mapping itself; name a menu file"))
        elif not menu.is_file():
            others = sorted(p.name for p in path.parent.glob("*.y*ml") if p.name != path.name)
            problems.append(Problem(file, here, f"{number}: there is no menu file {name} beside {path.name} "
                                    f"(have {', '.join(others) or 'none'})"))
    return (None if problems else lines), problems


def _where(path: tuple[Any, ...]) -> str:
    return "number " + str(path[1]) if len(path) >= 2 and path[0] == "numbers" else ".".join(map(str, path)) or "the top level"


class Lines:
    """The menus of one service: the default line's store and one store per mapped menu file.

    `interval` is the default store's: each line's watcher checks as often; `archive` gives the
    archive of a line's menu file (default: `MenuStore`'s own, a folder per file)."""

    def __init__(self, default: MenuStore, path: Path | None = None,
                 archive: Callable[[Path], Archive] | None = None, interval: float = 1.0) -> None:
        self.default = default
        self.path = path
        """The mapping file (None: one line only)."""
        self.refused: list[str] = []
        """The mapping's errors while the file on disk is not what is served (empty when it is)."""
        self._archive = archive
        self._interval = interval
        self._stores: dict[str, MenuStore] = {}  # by menu file name; kept for calls in progress
        self._numbers: dict[str, str] = {}  # To -> menu file name
        self._hooks: list[Callable[[], None]] = []
        self._stamp: tuple[tuple[int, int], ...] | None = None
        self._failed: list[str] = []  # mapped menu files that could not start: a save of one is read again
        if path is not None:
            self.refresh()
            default.on_refresh(self.refresh)

    # -- what the webhooks use -----------------------------------------------------------
    def for_number(self, to: str) -> tuple[str, MenuStore]:
        """The line a new call to `to` gets: its name ("" for the default) and its store."""
        name = self._numbers.get(to, "")
        return (name, self._stores[name]) if name else ("", self.default)

    def store(self, line: str) -> MenuStore | None:
        """The store of a line a call is on, if this worker has it."""
        return self._stores.get(line) if line else self.default

    def stores(self) -> list[MenuStore]:
        return [self.default, *self._stores.values()]

    def numbers(self) -> dict[str, str]:
        """The mapping in service: number -> menu file name."""
        return dict(self._numbers)

    def revisions(self) -> dict[str, str]:
        """The revision in service on each mapped line, by menu file name (for /health)."""
        stores = self._stores
        return {name: stores[name].current().id for name in sorted(set(self._numbers.values()))}

    def on_refresh(self, hook: Callable[[], None]) -> None:
        """Run `hook` after each refresh of every line's store (and of lines added later)."""
        self._hooks.append(hook)
        for store in self.stores():
            store.on_refresh(hook)

    # -- the mapping ---------------------------------------------------------------------
    def refresh(self) -> None:
        """Take a saved change of the mapping (or of a menu it could not start)."""
        assert self.path is not None
        stamp = tuple(_stat(p) for p in (self.path, *(self.path.parent / n for n in self._failed)))
        if stamp != self._stamp:
            self._stamp = stamp
            self._read(self.path)
        if self._interval == 0:  # no watchers: whoever refreshes the default line refreshes them all
            for store in self._stores.values():
                store.refresh()

    def _read(self, path: Path) -> None:
        lines, problems = check_lines(path) if path.exists() else (LineMap(), [])
        if lines is None:
            errors = [str(p) for p in problems if p.severity == "error"]
            if errors != self.refused:
                log.error("line mapping refused, numbers still answered as before:\n%s", "\n".join(errors))
            self.refused = errors
        else:
            self._take(lines, path.parent)

    def _take(self, lines: LineMap, folder: Path) -> None:
        numbers: dict[str, str] = {}
        failed = []
        for number, name in lines.numbers.items():
            menu = folder / name
            if menu.resolve() == self.default.path.resolve():
                continue  # the default line's own menu
            store = self._stores.get(name) or self._start(name, menu)
            if store is not None:
                numbers[number] = name
            elif name not in failed:
                failed.append(name)
        if numbers != self._numbers:
            log.info("line mapping now in service: %s", ", ".join(f"{n} -> {m}" for n, m in numbers.items()) or
                     "every number on the default line")
        self._numbers, self.refused, self._failed = numbers, [], failed

    def _start(self, name: str, menu: Path) -> MenuStore | None:
        try:
            store = MenuStore(menu, self._archive(menu) if self._archive else None, self._interval)
        except MenuError as exc:
            log.critical("%s cannot be served and has no archived revision; its numbers get the default line "
                         "until it is fixed:\n%s", menu, "\n".join(str(p) for p in exc.problems if p.severity == "error"))
            return None
        for hook in self._hooks:
            store.on_refresh(hook)
        store.current()  # starts its watcher in this process
        self._stores = {**self._stores, name: store}  # a new dict: webhooks read it without a lock
        return store


def _stat(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)
