"""Real PostgreSQL servers for the records tests: never a mock, never an in-memory stand-in.

`.ci/run` installs Debian's `postgresql`, starts its cluster and gives the tests its URL
(`IVR_TEST_DATABASE_URL`); each test session makes a database of its own there. Without
that URL, the tests start a server of their own from the installed binaries (as the
`postgres` user when run as root, since PostgreSQL refuses to run as root). Where there
are no binaries the PostgreSQL tests are skipped with the reason, unless
`IVR_REQUIRE_POSTGRES=1` (as `.ci/run` sets) makes that a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def unavailable(reason: str) -> None:
    if os.environ.get("IVR_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here (IVR_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(f"{reason}: apt-get install postgresql, or set IVR_TEST_DATABASE_URL")


class Server:
    """A PostgreSQL server of the tests' own, on a free port of 127.0.0.1, in a folder of its
    own (not pytest's: as root, the server runs as `postgres`, who cannot enter those)."""

    def __init__(self) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            unavailable("no PostgreSQL binaries (pg_ctl)")
        assert bin_dir is not None
        folder = Path(tempfile.mkdtemp(prefix="ivr-test-pg-"))
        self.bin, self.folder, self.data = bin_dir, folder, folder / "pgdata"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        if os.getuid() == 0:
            shutil.chown(folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "ivr", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        self.url = f"postgresql+psycopg://ivr@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l", str(self.data.parent / "log"), "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server at `server_url`: its URL."""
    name = f"ivr_test_{uuid.uuid4().hex[:12]}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database `fresh_database` made, whoever is still connected to it."""
    parsed = make_url(url)
    _admin(parsed.set(database="postgres").render_as_string(hide_password=False),
           f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def _admin(server_url: str, statement: str) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()
