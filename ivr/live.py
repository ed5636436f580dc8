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
import os
import re
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


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _build(text: str, file: str, prompts: Path) -> Edition:
    menu, problems = check_text(text, file)
    if menu is None or any(p.severity == "error" for p in problems):
        raise MenuError(problems)
    revision = f"{menu.menu.version}+{_digest(text)}"
    return Edition(revision, Engine(menu, revision), Renderer(menu, playable(menu, prompts)))


class MenuStore:
    """Also watches the prompts' audio, so a new render or recording is played, and a removed
    file is said by Twilio's voice instead."""

    def __init__(self, path: Path, archive: Path | None = None, interval: float = 1.0,
                 prompts: Path | None = None) -> None:
        self.path = path
        self.prompts = prompts or default_prompts_dir(path)
        self.interval = interval
        # Default: a folder of this user's only, so nobody else can plant a menu in it.
        owner = f"ivr-menus-{os.getuid()}" if hasattr(os, "getuid") else "ivr-menus"
        default = Path(tempfile.gettempdir()) / owner / hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
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
        """The menu a call began on, if it can still be found (and is what its name says)."""
        found = self._editions.get(revision)
        if found is not None or "+" not in revision:
            return found
        digest = revision.rsplit("+", 1)[1]
        saved = self.archive / f"{digest}.yaml"
        if not re.fullmatch(r"[0-9a-f]{8}", digest) or not saved.is_file():
            return None
        with self._lock:  # one thread rebuilds it; the others then find it
            found = self._editions.get(revision)
            if found is None:
                try:
                    text = saved.read_text(encoding="utf-8")
                    if _digest(text) != digest:
                        return None
                    found = self._remember(_build(text, str(self.path), self.prompts))
                except (MenuError, OSError, UnicodeDecodeError):
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
            self.archive.mkdir(mode=0o700, parents=True, exist_ok=True)
            saved = self.archive / f"{_digest(text)}.yaml"
            if not saved.exists():  # written whole, then renamed: another worker never reads half a file
                partial = saved.with_suffix(f".{os.getpid()}.tmp")
                partial.write_text(text, encoding="utf-8")
                os.replace(partial, saved)
        except OSError as exc:
            log.warning("cannot archive menu revision %s: %s", edition.revision, exc)
        return edition

    def _remember(self, edition: Edition) -> Edition:
        """Keep the most recently loaded revisions (the dict is only changed under the lock or at start)."""
        self._editions[edition.revision] = edition
        self._editions.move_to_end(edition.revision)
        while len(self._editions) > KEEP:
            self._editions.popitem(last=False)
        return edition
