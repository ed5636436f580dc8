"""A fresh worker's first webhook against its tenth: whether the first caller pays for the worker's start.

Run:  python bench/first_webhook.py [--rounds 5]

Each round starts the service as deployed, `gunicorn app:app` in the checkout (so with
gunicorn.conf.py), one worker, signed, call records on (SQLite in a temporary folder), and
waits for the worker's "serving menu" line: the app is built and the worker about to
accept. Then it posts ten incoming-call webhooks one after another, each signed and on a
new connection as Twilio sends them, and times each from connect to the last byte. The
figure is the median over rounds of first / tenth.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from twilio.request_validator import RequestValidator

if not __package__:  # run as `python bench/x.py`, not `-m bench.x`: sys.path starts at bench/, not the checkout
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.baselines import TOKEN
from bench.webhooks import CALLER, post

ROOT = Path(__file__).resolve().parent.parent
WEBHOOKS = 10
PORT = 18100
READY = "serving menu"  # create_app's last line: the worker accepts next


def fresh_worker(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """`gunicorn app:app` with one new worker, once its log says READY."""
    log = folder / f"gunicorn-{port}.log"
    log.unlink(missing_ok=True)
    env = {**os.environ, "IVR_TWILIO_AUTH_TOKEN": TOKEN, "IVR_STATE_SECRET": "bench", "XDG_DATA_HOME": str(folder),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
                             "--log-level", "info", "--error-logfile", str(log), "app:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if log.exists() and READY in log.read_text(errors="replace"):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.005)
    proc.kill()
    raise SystemExit(f"`gunicorn app:app` did not start: see {log}")


def first_webhooks(port: int, round_: int) -> list[float]:
    """Seconds taken by each of WEBHOOKS incoming calls, in order."""
    validator = RequestValidator(TOKEN)
    latencies: list[float] = []
    for i in range(WEBHOOKS):
        body = post(port, "/voice", {**CALLER, "CallSid": f"CA{round_:016x}{i:016x}"}, validator, latencies)
        if "<Response" not in body:
            raise SystemExit(f"not TwiML: {body[:200]}")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rounds: list[list[float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            proc = fresh_worker(PORT, Path(tmp))
            try:
                rounds.append(first_webhooks(PORT, round_))
            finally:
                proc.terminate()
                proc.wait()
    ratios = [r[0] / r[-1] for r in rounds]
    print(f"first webhook {statistics.median(r[0] for r in rounds) * 1e3:.2f} ms, tenth "
          f"{statistics.median(r[-1] for r in rounds) * 1e3:.2f} ms (medians of {len(rounds)} fresh workers)")
    print(f"first / tenth: {statistics.median(ratios):.2f}x (rounds: {', '.join(f'{x:.2f}x' for x in ratios)})")


if __name__ == "__main__":
    main()
