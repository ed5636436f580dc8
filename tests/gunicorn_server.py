"""Start the service under gunicorn on 127.0.0.1 for a test, with its logs in files."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    access_log: Path
    error_log: Path

    def workers(self) -> set[int]:
        """The worker processes' pids (the master's children)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return {int(pid) for pid in children}

    def health(self) -> dict[str, object]:
        import json

        with urllib.request.urlopen(self.base + "/health", timeout=5) as reply:
            return dict(json.load(reply))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(folder: Path, env: dict[str, str], workers: int = 2, *options: str) -> Iterator[Server]:
    """gunicorn app:app with `workers` workers and the environment `env` added, started from the
    project folder (so its gunicorn.conf.py applies); stopped at the end."""
    port = free_port()
    access, errors = folder / "access.log", folder / "error.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--access-logfile", str(access), "--error-logfile", str(errors), *options, "app:app"],
        cwd=ROOT, env={**_real_clock(os.environ), **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Server(f"http://127.0.0.1:{port}", proc, access, errors)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(server.base + "/health", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start: " + errors.read_text())
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}: " + errors.read_text())
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _real_clock(environ: os._Environ[str]) -> dict[str, str]:
    """The environment without libfaketime: the suite is run under `faketime` to show it does
    not depend on the time of day, but gunicorn's worker heartbeat (monotonic times written
    as a file's mtime) cannot run under it, and the master kills its workers in a loop. The
    calls these tests play carry their time in the clock header instead."""
    return {k: v for k, v in environ.items() if k not in ("LD_PRELOAD", "FAKETIME", "FAKETIME_SHARED")}


def wait_until(condition: object, what: str, bound: float = 20.0) -> None:
    """Poll `condition()` until it holds: a bound on waiting, never a speed asserted."""
    deadline = time.monotonic() + bound
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {bound:.0f} s")
        time.sleep(0.05)
