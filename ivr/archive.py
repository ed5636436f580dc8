"""Where the good revisions of a menu are kept, so every worker can finish a call on its own revision.

`ivr.live.MenuStore` asks an archive for a revision's text by its digest, saves each
good revision it takes, and reads and moves the `current` pointer (the newest good
revision any worker took). Two kinds:

* `FolderArchive`: a folder of `<digest>.yaml` files and a `current` file, the default;
  shared by the workers of one machine.
* `ivr.database.DatabaseArchive`: the records database's `menu_revisions` and
  `menu_pointers` tables, when `IVR_DATABASE_URL` is set; shared by every machine using it.
"""

from __future__ import annotations

import logging
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

log = logging.getLogger("ivr.live")
POINTER = "current"  # the folder's file naming its newest good revision


class Archive(Protocol):
    where: str
    """What to name in logs."""
    problem: str
    """"" when revisions can be saved, else why not."""

    def text(self, digest: str) -> str | None: ...

    def save(self, digest: str, revision: str, text: str) -> None: ...

    def pointer(self) -> str | None: ...

    def point(self, digest: str) -> None: ...

    def newest(self, limit: int) -> list[str]: ...


def default_folder(path: Path) -> Path:
    """A folder of this user's only (nobody else can plant a menu in it), one per menu file."""
    owner = f"ivr-menus-{os.getuid()}" if hasattr(os, "getuid") else "ivr-menus"
    return Path(tempfile.gettempdir()) / owner / hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]


class FolderArchive:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.where = str(folder)
        self.problem = self._prepare()

    def _prepare(self) -> str:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            probe = self.folder / f".probe.{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
            return ""
        except OSError as exc:
            problem = f"cannot write the menu archive {self.folder}: {exc.strerror or exc}"
            log.error("%s; a call may have to continue on another revision when its worker restarts "
                      "(set IVR_MENU_ARCHIVE to a writable folder)", problem)
            return problem

    def text(self, digest: str) -> str | None:
        try:
            return (self.folder / f"{digest}.yaml").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def save(self, digest: str, revision: str, text: str) -> None:
        if not (self.folder / f"{digest}.yaml").exists():
            self._write(f"{digest}.yaml", text)

    def pointer(self) -> str | None:
        try:
            return (self.folder / POINTER).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None

    def point(self, digest: str) -> None:
        if self.pointer() != digest:
            self._write(POINTER, digest)

    def newest(self, limit: int) -> list[str]:
        try:
            saved = sorted(self.folder.glob("*.yaml"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        except OSError:
            return []
        return [p.stem for p in saved[:limit]]

    def _write(self, name: str, text: str) -> None:
        """Written whole, then renamed: another worker never reads half a file."""
        target = self.folder / name
        partial = target.with_name(f".{name}.{os.getpid()}.tmp")
        try:
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, target)
        except OSError as exc:
            log.warning("cannot save %s in the menu archive: %s", name, exc)
