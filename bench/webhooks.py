"""Webhook throughput and latency under concurrent calls, against two baselines in the same run.

Run:  python bench/webhooks.py [--seconds 5] [--callers 8]

Each target runs under gunicorn with 2 workers on loopback, one after another:
  constant   a Flask endpoint returning a fixed TwiML document (the stack's limit)
  tutorial   a handler in the style of Twilio's Flask tutorial (builds a VoiceResponse)
  ivr        the service, playing realistic calls (incoming, menu keys, Q&A, silence)
Callers run in 2 client processes with several threads each, for a bounded time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALLS = ["2 5 1 1 2 1 1 3", "1 1", "2 wait 3", "2 5 1 say:yes say:no 1 1 1", "3 7 4", "2 2", "1 5 1 2"]


def start(target: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "IVR_ALLOW_UNSIGNED": "true", "IVR_STATE_SECRET": "bench", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
                             "--log-level", "warning", target], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{target} did not start")


def post(base: str, path: str, params: dict[str, str], latencies: list[float]) -> str:
    data = urllib.parse.urlencode(params).encode()
    began = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(base + path, data), timeout=30) as reply:
        body = reply.read().decode()
    latencies.append(time.perf_counter() - began)
    return body


def caller(base: str, deadline: float, latencies: list[float], seed: int) -> None:
    """Play whole calls until the deadline: each token is one webhook, as Twilio would send it."""
    rng = random.Random(seed)
    while time.perf_counter() < deadline:
        sid = f"CA{rng.getrandbits(64):016x}"
        params = {"CallSid": sid, "From": "+819000000000", "To": "+81120950178"}
        body = post(base, "/voice", params, latencies)
        for token in rng.choice(CALLS).split():
            match = re.search(r'<Gather[^>]*action="([^"]+)"', body)
            if not match or time.perf_counter() >= deadline:
                break
            action = match.group(1).replace("&amp;", "&")
            if token == "wait":
                extra = {}
            elif token.startswith("say:"):
                extra = {"SpeechResult": token[4:]}
            else:
                extra = {"Digits": token}
            body = post(base, action, {**params, **extra}, latencies)


def client_process(base: str, seconds: float, threads: int, seed: int, queue: "multiprocessing.Queue[list[float]]") -> None:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    workers = [threading.Thread(target=caller, args=(base, deadline, latencies, seed * 100 + i)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put(latencies)


def measure(target: str, seconds: float, callers: int, port: int) -> tuple[float, float, float]:
    server = start(target, port)
    try:
        base = f"http://127.0.0.1:{port}"
        queue: multiprocessing.Queue[list[float]] = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=client_process, args=(base, seconds, callers // 2, i, queue))
                 for i in range(2)]
        for p in procs:
            p.start()
        latencies = [x for _ in procs for x in queue.get()]
        for p in procs:
            p.join()
    finally:
        server.terminate()
        server.wait()
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / seconds, cuts[49] * 1000, cuts[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--callers", type=int, default=8, help="concurrent calls in all")
    args = parser.parse_args()
    targets = {"constant": "bench.baselines:constant_app", "tutorial": "bench.baselines:tutorial_app",
               "ivr": "app:app"}
    results = {name: measure(t, args.seconds, args.callers, 18000 + i) for i, (name, t) in enumerate(targets.items())}
    base_rate, _, base_p99 = results["constant"]
    print(f"{'target':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs constant':>12} {'p99 vs const':>13}")
    for name, (rate, p50, p99) in results.items():
        print(f"{name:<10} {rate:>8.0f} {p50:>8.2f} {p99:>8.2f} {rate / base_rate:>11.2f}x {p99 / base_p99:>12.2f}x")
    print(f"ivr vs tutorial: {results['ivr'][0] / results['tutorial'][0]:.2f}x throughput")


if __name__ == "__main__":
    main()
