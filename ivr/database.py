"""Where call records and shared menu revisions live: one SQLAlchemy engine from one URL.

`IVR_DATABASE_URL` names it. Without one, records go to an embedded SQLite file in the
user's data folder (`default_url`), so a newcomer needs nothing installed; with
`postgresql+psycopg://...`, several machines share one PostgreSQL server. The tables
are made and changed by Alembic migrations kept in the package (`ivr/migrations/`), run
by whoever opens the database first (`Database.migrate`), once per process.

SQLite runs in WAL mode, so the service's writers and an operator's `ivr report` do not
block each other, with a short busy timeout: a writer waits a moment for another
worker's transaction, never long (records are written outside calls, `ivr.records`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL

from .tables import MenuPointerRecord, MenuRevisionRecord

log = logging.getLogger("ivr.live")
T = TypeVar("T")

MIGRATIONS = Path(__file__).with_name("migrations")
CONNECT_TIMEOUT = 3  # seconds: a server that does not answer is counted as down, in the writer's thread
BUSY_TIMEOUT_MS = 2000  # SQLite: how long a writer waits for another worker's transaction
PAUSE = 10.0  # seconds a database archive that failed is not asked again


def default_url() -> str:
    """An SQLite file of this user's: $XDG_DATA_HOME/ivr/records.sqlite3 (~/.local/share/...)."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{base / 'ivr' / 'records.sqlite3'}"


def shown(url: str) -> str:
    """The URL as it may be logged or shown: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL that cannot be parsed is shown as its scheme only
        return url.split(":", 1)[0] + ":..."


class Database:
    """One database, opened lazily and again in each forked worker (a connection pool must not
    cross a fork)."""

    def __init__(self, url: str | None = None) -> None:
        self.url: URL = make_url(url or default_url())
        self._engine: Engine | None = None
        self._pid = 0
        self._migrated = False
        self._lock = threading.Lock()

    @property
    def kind(self) -> str:
        """"sqlite" or "postgresql" (what /health and the report say)."""
        return self.url.get_backend_name()

    def insert(self, table: type) -> Any:
        """INSERT with this dialect's ON CONFLICT clauses."""
        return (postgresql.insert if self.kind == "postgresql" else sqlite.insert)(table)

    @property
    def engine(self) -> Engine:
        if self._engine is None or self._pid != os.getpid():
            with self._lock:
                if self._engine is None or self._pid != os.getpid():
                    self._engine, self._pid, self._migrated = _open(self.url), os.getpid(), False
        return self._engine

    def migrate(self) -> None:
        """Bring the tables to the newest migration (once per process; cheap when they are)."""
        if self._migrated and self._pid == os.getpid():
            return
        engine = self.engine
        with self._lock:
            if not self._migrated:
                upgrade(engine)
                self._migrated = True

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _open(url: URL) -> Engine:
    args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        args["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
    elif url.get_backend_name() == "postgresql":
        args["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
        args["pool_pre_ping"] = True  # a server restarted since: reconnect rather than lose a batch
    engine = create_engine(url, **args)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL's own advice: durable at each checkpoint, fast commits
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def upgrade(engine: Engine) -> None:
    """Run Alembic's migrations to head. On PostgreSQL an advisory lock makes workers starting
    together take turns; on SQLite the file's own write lock does."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
        elif engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class DatabaseArchive:
    """The good revisions of menu file `menu` (its name: the same on every machine) in the
    database, for `ivr.live.MenuStore` (`ivr.archive.Archive`). A database that fails is not
    asked again for PAUSE seconds, so a webhook looking up a revision never waits on it twice
    in a row; the menu in memory serves meanwhile."""

    def __init__(self, db: Database, menu: str) -> None:
        self.db, self.menu = db, menu
        self.where = f"{shown(str(db.url))} (menu {menu})"
        self.problem = ""
        self._failed_at = -PAUSE

    def text(self, digest: str) -> str | None:
        r = MenuRevisionRecord
        return self._ask(lambda c: c.execute(select(r.text).where(r.menu == self.menu, r.digest == digest)).scalar())

    def save(self, digest: str, revision: str, text: str) -> None:
        row = {"menu": self.menu, "digest": digest, "revision": revision, "text": text, "saved_at": _utcnow()}
        self._ask(lambda c: c.execute(self.db.insert(MenuRevisionRecord).values(row).on_conflict_do_nothing()))

    def pointer(self) -> str | None:
        p = MenuPointerRecord
        return self._ask(lambda c: c.execute(select(p.digest).where(p.menu == self.menu)).scalar())

    def point(self, digest: str) -> None:
        stmt = self.db.insert(MenuPointerRecord).values(menu=self.menu, digest=digest, updated_at=_utcnow())
        stmt = stmt.on_conflict_do_update(index_elements=["menu"], set_={"digest": digest, "updated_at": _utcnow()})
        self._ask(lambda c: c.execute(stmt))

    def newest(self, limit: int) -> list[str]:
        r = MenuRevisionRecord
        query = select(r.digest).where(r.menu == self.menu).order_by(r.saved_at.desc()).limit(limit)
        return self._ask(lambda c: list(c.execute(query).scalars())) or []

    def _ask(self, work: Callable[[Connection], T]) -> T | None:
        """`work` in a transaction, or None when the database fails (logged, then left alone for PAUSE)."""
        if time.monotonic() - self._failed_at < PAUSE:
            return None
        try:
            self.db.migrate()
            with self.db.engine.begin() as connection:
                found = work(connection)
        except Exception as exc:  # noqa: BLE001 - the menu in memory keeps serving
            self._failed_at = time.monotonic()
            self.problem = f"the menu archive in {self.where} failed: {type(exc).__name__}"
            log.error("%s; calls go on, on the menus in memory", self.problem)
            return None
        self.problem = ""
        return found


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
