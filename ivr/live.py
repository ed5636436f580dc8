"""Change the menu while the service runs: take saved edits, refuse broken ones, never stop.

A watcher thread in each worker checks the menu file (every `interval` seconds, default
1) and, when it changed, loads it through the same checks as `ivr lint`, outside any
caller's webhook; then it runs what the service asked for with `on_refresh` (the
protocol, `ivr.voice.Voice`, takes new prompt audio there and builds a new menu's TwiML).
A file with errors is refused, its problems logged once with file:line, and the last good
menu keeps serving.

Every good revision is saved in the archive (`ivr.archive`: a folder of the machine's,
or the database every machine shares), and its `current` pointer names the newest one a
worker took from the file. The archive is what keeps the line up and the workers in step:

* a call carries the revision it began on; `find(revision)` finds that menu again,
  from memory or the archive, so it finishes on its own version in any worker;
* a worker that (re)starts while the file is broken, missing or unreadable serves the
  newest good revision from the archive instead of failing to boot (gunicorn would shut
  the whole service down); only a first start with no good revision anywhere is refused;
* a worker whose file is refused follows `current`, so workers that saw a good save
  and those that only saw the broken one after it all serve the same revision.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .archive import Archive, FolderArchive, default_folder
from .engine import Engine
from .errors import MenuError, Problem
from .loader import check_text

log = logging.getLogger("ivr.live")
KEEP = 16  # revisions kept in memory for calls in progress
_DIGEST = re.compile(r"[0-9a-f]{8}")


@dataclass(frozen=True)
class Revision:
    """One good revision of the menu, ready to serve."""

    id: str
    """The menu's version and a digest of its text: `2026.11.1+1a2b3c4d` (what `Call.revision` holds)."""
    engine: Engine


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _build(text: str, file: str) -> Revision:
    menu, problems = check_text(text, file)
    if menu is None or any(p.severity == "error" for p in problems):
        raise MenuError(problems)
    revision_id = f"{menu.menu.version}+{_digest(text)}"
    return Revision(revision_id, Engine(menu, revision_id))


def _read(path: Path) -> str:
    """The menu file's text, or a MenuError that says why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror or str(exc)
        raise MenuError([Problem(str(path), 0, f"cannot read the menu file: {reason}")]) from None


class MenuStore:
    """The menu revisions of one service: the one in service and those calls began on.

    `interval` 0 starts no watcher: whoever holds the store calls `refresh()` (tests, tools)."""

    def __init__(self, path: Path, archive: Archive | None = None, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self.archive = archive or FolderArchive(default_folder(path))
        self.refused: list[str] = []
        """The errors of the file on disk when it is not what is served (empty when it is)."""
        self._lock = threading.Lock()  # the watcher's: one refresh at a time
        self._rebuild = threading.Lock()  # a revision wanted by a call is built from the archive once
        self._revisions: OrderedDict[str, Revision] = OrderedDict()
        self._hooks: list[Callable[[], None]] = []
        self._stamp = self._stat()
        self._watching = 0  # the pid whose watcher runs: a forked worker starts its own
        self._followed = ""  # the last revision named by the archive's pointer that was tried
        self._current = self._first()
        if interval > 0:  # gunicorn --preload: workers are forked from a master that has loaded the app
            os.register_at_fork(after_in_child=functools.partial(_forked, weakref.ref(self)))

    @property
    def archive_problem(self) -> str:
        """"" while revisions can be saved, else why not (calls may then have to continue on
        another revision when a worker restarts)."""
        return self.archive.problem

    # -- what the webhooks use (never loads the file: the watcher does) -----------------
    def current(self) -> Revision:
        """The menu for new calls."""
        if self._watching != os.getpid() and self.interval > 0:
            self._watch()
        return self._current

    def find(self, revision_id: str) -> Revision | None:
        """The menu a call began on, if it can still be found (and is what its name says)."""
        found = self._revisions.get(revision_id)
        if found is not None or "+" not in revision_id:
            return found
        with self._rebuild:  # one thread rebuilds it; the others then find it
            return self._revisions.get(revision_id) or self._archived(revision_id.rsplit("+", 1)[1])

    def on_refresh(self, hook: Callable[[], None]) -> None:
        """Run `hook` after each refresh: in the watcher's thread, where a failure is logged
        and the next tick runs it again, or in whoever calls `refresh()` (interval 0)."""
        self._hooks.append(hook)

    # -- the watcher ------------------------------------------------------------------
    def refresh(self) -> None:
        """Take a saved change of the file, or, while the file is refused, the newest good
        revision another worker took."""
        with self._lock:
            stamp = self._stat()
            if stamp != self._stamp:
                self._stamp = stamp
                self._take_file()
            elif self.refused:
                self._follow_pointer()
        for hook in self._hooks:  # each on its own: one that fails neither stops the others nor the menu
            try:
                hook()
            except Exception:
                log.exception("after a menu refresh, %s failed; the menu in service stays %s",
                              getattr(hook, "__qualname__", hook), self._current.id)

    def _watch(self) -> None:
        with self._lock:
            if self._watching == os.getpid():
                return
            self._watching = os.getpid()
            store = weakref.ref(self)  # the thread ends when the service is dropped
            threading.Thread(target=_watch, args=(store, self.interval), name="ivr-menu-watcher", daemon=True).start()

    def _take_file(self) -> None:
        try:
            text = _read(self.path)
            revision = self._load(text)
        except MenuError as exc:
            errors = [str(p) for p in exc.problems if p.severity == "error"]
            if errors != self.refused:
                log.error("menu change refused, still serving %s:\n%s", self._current.id, "\n".join(errors))
            self.refused = errors
            self._follow_pointer()
            return
        self.refused, self._followed = [], ""
        if revision.id != self._current.id:
            log.info("menu %s now in service (was %s)", revision.id, self._current.id)
        self._current = revision
        if self._stat() == self._stamp:  # not overtaken by a newer save while it was built
            self.archive.point(_digest(text))

    def _follow_pointer(self) -> None:
        digest = self.archive.pointer()
        if digest is None or digest == self._followed or self._current.id.endswith("+" + digest):
            return
        self._followed = digest  # tried once: one that cannot be built here is not rebuilt every second
        revision = self._archived(digest)
        if revision is not None:
            log.warning("menu %s now in service from the archive (was %s): another worker took it from %s, "
                        "which is refused here", revision.id, self._current.id, self.path)
            self._current = revision

    # -- start-up ---------------------------------------------------------------------
    def _first(self) -> Revision:
        """The file's menu; if it cannot be served, the newest good revision in the archive.
        Raises MenuError (refuse to start) only when there is none."""
        try:
            text = _read(self.path)
            revision = self._load(text)
            self.archive.point(_digest(text))
            return revision
        except MenuError as exc:
            fallback = self._newest_archived()
            if fallback is None:
                raise
            self.refused = [str(p) for p in exc.problems if p.severity == "error"]
            log.critical("%s cannot be served; serving %s from the archive %s until it is fixed:\n%s",
                         self.path, fallback.id, self.archive.where, "\n".join(self.refused))
            return fallback

    def _newest_archived(self) -> Revision | None:
        named = self.archive.pointer()
        if named is not None and (revision := self._archived(named)) is not None:
            return revision
        for digest in self.archive.newest(KEEP):
            if (revision := self._archived(digest)) is not None:
                return revision
        return None

    # -- the archive ------------------------------------------------------------------
    def _archived(self, digest: str) -> Revision | None:
        if not _DIGEST.fullmatch(digest):
            return None
        text = self.archive.text(digest)
        if text is None or _digest(text) != digest:
            return None
        try:
            return self._remember(_build(text, str(self.path)))
        except MenuError:
            return None

    def _load(self, text: str) -> Revision:
        revision = self._remember(_build(text, str(self.path)))
        self.archive.save(_digest(text), revision.id, text)
        return revision

    def _stat(self) -> tuple[int, int]:
        try:
            info = self.path.stat()
        except OSError:
            return (0, 0)
        return (info.st_mtime_ns, info.st_size)

    def _remember(self, revision: Revision) -> Revision:
        """Keep the most recently loaded revisions. A new dict replaces the old, so webhooks
        reading it without a lock never see one half changed."""
        revisions = OrderedDict(self._revisions)
        revisions[revision.id] = revision
        revisions.move_to_end(revision.id)
        while len(revisions) > KEEP:
            revisions.popitem(last=False)
        self._revisions = revisions
        return revision


def _forked(store: weakref.ref[MenuStore]) -> None:
    """In a new child process: locks as fresh (a thread of the parent may have held one at the
    fork, and it is not here to let go), and a watcher of the child's own, at once."""
    live = store()
    if live is not None:
        live._lock, live._rebuild = threading.Lock(), threading.Lock()
        live._watching = 0
        live._watch()


def _watch(store: weakref.ref[MenuStore], interval: float) -> None:
    """The watcher thread: refresh every `interval` seconds; a failure is logged, never fatal."""
    while True:
        time.sleep(interval)
        live = store()
        if live is None:
            return
        try:
            live.refresh()
        except Exception:  # the thread must outlive any bug: the menu in service stays
            log.exception("menu watcher failed; still serving %s", live.current().id)
        del live
