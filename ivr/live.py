"""Change the menu while the service runs: pick up saved edits, refuse broken ones.

`MenuStore.current()` checks the menu file (at most once a second) and, when it has
changed, loads it through the same checks as `ivr lint`. A file with errors is refused,
its problems are logged with file:line, and the last good menu keeps serving. A call
carries the revision it began on; `MenuStore.edition(revision)` finds that menu again,
from memory or from the archive folder where every good revision is saved, so a call in
progress finishes on its own version even in a worker that never loaded it.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from .audio import MANIFEST, default_prompts_dir, playable
from .engine import Engine
from .errors import MenuError
from .lint import check_text
from .twiml import Renderer

log = logging.getLogger("ivr.live")
KEEP = 16  # revisions kept in memory for calls in progress


@dataclass(frozen=True)
class Edition:
    """One good revision of the menu, ready to serve."""

    revision: str
    engine: Engine
    renderer: Renderer


def _build(text: str, file: str, prompts: Path) -> Edition:
    menu, problems = check_text(text, file)
    if menu is None or any(p.severity == "error" for p in problems):
        raise MenuError(problems)
    revision = f"{menu.menu.version}+{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return Edition(revision, Engine(menu, revision), Renderer(menu, playable(menu, prompts)))


class MenuStore:
    """Also watches the prompts' audio, so a new render or recording is played, and a removed
    file is said by Twilio's voice instead."""

    def __init__(self, path: Path, archive: Path | None = None, interval: float = 1.0,
                 prompts: Path | None = None) -> None:
        self.path = path
        self.prompts = prompts or default_prompts_dir(path)
        self.interval = interval
        default = Path(tempfile.gettempdir()) / "ivr-menus" / hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        self.archive = archive or default
        self._lock = threading.Lock()
        self._editions: OrderedDict[str, Edition] = OrderedDict()
        self._stamp = self._stat()
        self._checked = time.monotonic()
        self._current = self._load(path.read_text(encoding="utf-8"))  # raises MenuError: refuse to start

    def current(self) -> Edition:
        """The menu for new calls, reloading it first if the file changed."""
        if time.monotonic() - self._checked >= self.interval:
            with self._lock:
                self._checked = time.monotonic()
                stamp = self._stat()
                if stamp != self._stamp:
                    self._stamp = stamp
                    self._reload()
        return self._current

    def edition(self, revision: str) -> Edition | None:
        """The menu a call began on, if it can still be found."""
        found = self._editions.get(revision)
        if found is None and revision.replace("+", "").replace(".", "").isalnum():
            saved = self.archive / f"{revision}.yaml"
            if saved.is_file():
                try:
                    found = self._remember(_build(saved.read_text(encoding="utf-8"), str(self.path), self.prompts))
                except MenuError:
                    return None
        return found

    def _stat(self) -> tuple[int, ...]:
        """The menu file, the audio manifest, and each language's audio folder (a file added
        or removed there changes the folder's mtime)."""
        stamp: tuple[int, ...] = ()
        folders = sorted(p for p in self.prompts.iterdir() if p.is_dir()) if self.prompts.is_dir() else []
        for path in (self.path, self.prompts / MANIFEST, *folders):
            try:
                info = path.stat()
                stamp += (info.st_mtime_ns, info.st_size)
            except OSError:
                stamp += (0, 0)
        return stamp

    def _reload(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
            edition = self._load(text)
        except MenuError as exc:
            errors = [str(p) for p in exc.problems if p.severity == "error"]
            log.error("menu change refused, still serving %s:\n%s", self._current.revision, "\n".join(errors))
            return
        except (OSError, UnicodeDecodeError) as exc:
            log.error("cannot read %s (%s); still serving %s", self.path, exc, self._current.revision)
            return
        if edition.revision != self._current.revision:
            log.info("menu %s now in service (was %s)", edition.revision, self._current.revision)
        self._current = edition

    def _load(self, text: str) -> Edition:
        edition = self._remember(_build(text, str(self.path), self.prompts))
        try:
            self.archive.mkdir(parents=True, exist_ok=True)
            saved = self.archive / f"{edition.revision}.yaml"
            if not saved.exists():
                saved.write_text(text, encoding="utf-8")
        except OSError as exc:
            log.warning("cannot archive menu revision %s: %s", edition.revision, exc)
        return edition

    def _remember(self, edition: Edition) -> Edition:
        self._editions[edition.revision] = edition
        self._editions.move_to_end(edition.revision)
        while len(self._editions) > KEEP:
            self._editions.popitem(last=False)
        return edition
