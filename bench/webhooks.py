"""Webhook throughput and latency under concurrent calls, against two baselines in the same run.

Run:  python bench/webhooks.py [--seconds 5] [--rounds 3] [--callers 8]

Each target runs under gunicorn with 2 workers on loopback; they take turns, round after
round, and the figures are the median round's rate and the latencies of all rounds:
  constant    a Flask endpoint returning a fixed TwiML document (the stack's limit)
  tutorial    a handler in the style of Twilio's Flask tutorial (builds a VoiceResponse)
  tutorial signed  the same behind the decorator of Twilio's security guide for Flask
              (`RequestValidator(token).validate(request.url, request.form, signature)`)
  ivr         the service, playing realistic calls (incoming, menu keys, Q&A, silence) at
              an open hour (bench/service.py), checking no signatures: the same work as
              the baselines, which check none
  ivr signed  the same, as deployed: every request signed and its signature checked
Callers run in 2 client processes with several threads each, for a bounded time, and
post what Twilio posts (some 25 parameters per webhook). "server us/req" is the CPU the
server's processes used per request (from /proc), "callers us/req" the callers' own: both
share the machine's cores, so both bound the rate.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from twilio.request_validator import RequestValidator

if not __package__:  # run as `python bench/x.py`, not `-m bench.x`: sys.path starts at bench/, not the checkout
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.baselines import TOKEN  # noqa: E402
from ivr.signatures import TwilioParams  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

CALLS = ["2 5 1 1 2 1 1 3", "1 1", "2 wait 3", "2 5 1 say:yes say:no 1 1 1", "3 7 4", "2 2", "1 5 1 2"]
CALLER = {  # what Twilio posts with every voice webhook (numbers in E.164; Japanese numbers carry no city)
    "AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01", "CallStatus": "in-progress", "Direction": "inbound",
    **{f"{who}{part}": "" for who in ("From", "To", "Caller", "Called") for part in ("City", "State", "Zip")},
    **{f"{who}Country": "JP" for who in ("From", "To", "Caller", "Called")},
    "From": "+819000000000", "Caller": "+819000000000", "To": "+81120950178", "Called": "+81120950178",
}


@dataclass(frozen=True)
class Target:
    app: str
    signed: bool = False


TARGETS = {"constant": Target("bench.baselines:constant_app"), "tutorial": Target("bench.baselines:tutorial_app"),
           "tutorial signed": Target("bench.baselines:signed_tutorial_app", signed=True),
           "ivr": Target("bench.service:service()"), "ivr signed": Target("bench.service:service()", signed=True)}
RATIOS = [("ivr", "constant"), ("ivr", "tutorial"), ("ivr signed", "constant"), ("ivr signed", "tutorial signed")]
"""The rates compared, each round's pair having run back to back (the host's drift cancels)."""


def start(target: Target, port: int, extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`target` under gunicorn with 2 workers on 127.0.0.1:`port`, its environment plus `extra`."""
    env = {**os.environ, "IVR_STATE_SECRET": "bench", "PYTHONPATH": str(ROOT),
           **({"IVR_TWILIO_AUTH_TOKEN": TOKEN} if target.signed else {"IVR_ALLOW_UNSIGNED": "true"}), **(extra or {})}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
                             "--log-level", "warning", target.app], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{target.app} did not start")


def post(port: int, path: str, params: dict[str, str], validator: RequestValidator | None,
         latencies: list[float]) -> str:
    """One webhook on a new connection, as Twilio sends them. http.client, not urllib: urllib
    splits every URL several times behind a cache, and the service's URLs are all new (they
    carry the call's state), so urllib charged the callers, who share our cores, ~30 us more
    per request to the service than to the baselines."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if validator:  # Twilio's work, not the server's: done before the clock starts
        url = f"http://127.0.0.1:{port}{path}"
        headers["X-Twilio-Signature"] = validator.compute_signature(url, TwilioParams(params))
    data = urllib.parse.urlencode(params)
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, data, headers)
        body = connection.getresponse().read().decode()
    finally:
        connection.close()
    latencies.append(time.perf_counter() - began)
    return body


def heard(token: str) -> dict[str, str]:
    """What Twilio adds to a <Gather>'s request for one token of CALLS: a key, speech, or
    (`wait`) nothing, as after the <Redirect> that follows a silent <Gather>."""
    if token == "wait":
        return {}
    if token.startswith("say:"):
        return {"SpeechResult": token[4:], "Confidence": "0.92"}
    return {"Digits": token, "FinishedOnKey": "", "msg": "Gather End"}


def caller(port: int, signed: bool, deadline: float, latencies: list[float], seed: int) -> None:
    """Play whole calls until the deadline: each token is one webhook, as Twilio would send it.
    A server that stops answering ends the caller quietly; main() reports it."""
    rng = random.Random(seed)
    validator = RequestValidator(TOKEN) if signed else None
    try:
        while time.perf_counter() < deadline:
            params = {**CALLER, "CallSid": f"CA{rng.getrandbits(64):016x}"}
            body = post(port, "/voice", params, validator, latencies)
            for token in rng.choice(CALLS).split():
                match = re.search(r'<Gather[^>]*action="([^"]+)"', body)
                if not match or time.perf_counter() >= deadline:
                    break
                body = post(port, match.group(1).replace("&amp;", "&"), {**params, **heard(token)}, validator,
                            latencies)
    except (OSError, http.client.HTTPException):
        return


def client_process(port: int, signed: bool, seconds: float, threads: int, seed: int,
                   queue: "multiprocessing.Queue[list[float]]") -> None:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    workers = [threading.Thread(target=caller, args=(port, signed, deadline, latencies, seed * 100 + i))
               for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put(latencies)


def load(port: int, signed: bool, seconds: float, callers: int) -> list[float]:
    """Latencies of every webhook that `callers` concurrent calls made in `seconds`."""
    queue: multiprocessing.Queue[list[float]] = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client_process, args=(port, signed, seconds, callers // 2, i, queue))
             for i in range(2)]
    for p in procs:
        p.start()
    latencies = [x for _ in procs for x in queue.get()]
    for p in procs:
        p.join()
    return latencies


def server_cpu(proc: subprocess.Popen[bytes]) -> float | None:
    """CPU seconds used so far by gunicorn and its workers (Linux /proc; None elsewhere)."""
    try:
        pids = [proc.pid, *map(int, Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split())]
        ticks = sum(sum(map(int, Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])) for pid in pids)
    except (OSError, ValueError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def callers_cpu() -> float:
    """CPU seconds used so far by this process's finished children: the callers (the servers
    are still running, so not among them)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per target and round")
    parser.add_argument("--rounds", type=int, default=3, help="the targets take turns, this many times")
    parser.add_argument("--callers", type=int, default=8, help="concurrent calls in all")
    args = parser.parse_args()
    ports = {name: 18000 + i for i, name in enumerate(TARGETS)}
    servers = {name: start(target, ports[name]) for name, target in TARGETS.items()}
    latencies: dict[str, list[float]] = {name: [] for name in TARGETS}
    rates: dict[str, list[float]] = {name: [] for name in TARGETS}
    cpu: dict[str, float | None] = {name: 0.0 for name in TARGETS}
    client_cpu = {name: 0.0 for name in TARGETS}
    try:
        for name, target in TARGETS.items():  # warm up: workers booted, menus loaded, caches filled
            if not load(ports[name], target.signed, min(1.0, args.seconds), args.callers):
                raise SystemExit(f"{name}: no answer from `gunicorn {target.app}`; run it by hand to see why")
        for _ in range(args.rounds):  # interleaved, so a noisy neighbour hits every target alike
            for name, target in TARGETS.items():
                before, callers_before = server_cpu(servers[name]), callers_cpu()
                got = load(ports[name], target.signed, args.seconds, args.callers)
                client_cpu[name] += callers_cpu() - callers_before
                after, used = server_cpu(servers[name]), cpu[name]
                cpu[name] = None if before is None or after is None or used is None else used + after - before
                latencies[name] += got
                rates[name].append(len(got) / args.seconds)
    finally:
        for server in servers.values():
            server.terminate()
            server.wait()
    rows = {}
    for name in TARGETS:
        cuts = statistics.quantiles(latencies[name], n=100)
        used = cpu[name]
        rows[name] = (statistics.median(rates[name]), cuts[49] * 1000, cuts[98] * 1000,
                      None if used is None else used / len(latencies[name]) * 1e6,
                      client_cpu[name] / len(latencies[name]) * 1e6)
    base_rate, _, base_p99, _, _ = rows["constant"]
    print(f"{'target':<15} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'server us/req':>14} {'callers us/req':>15} "
          f"{'vs constant':>12} {'p99 vs const':>13}")
    for name, (rate, p50, p99, us, client_us) in rows.items():
        cpu_us = "-" if us is None else f"{us:.0f}"
        print(f"{name:<15} {rate:>7.0f} {p50:>7.2f} {p99:>7.2f} {cpu_us:>14} {client_us:>15.0f} "
              f"{rate / base_rate:>11.2f}x {p99 / base_p99:>12.2f}x")
    for target, other in RATIOS:
        per_round = [i / t for i, t in zip(rates[target], rates[other], strict=True)]
        print(f"{target} vs {other}: {rows[target][0] / rows[other][0]:.2f}x throughput, median round "
              f"{statistics.median(per_round):.2f}x (rounds: {', '.join(f'{r:.2f}x' for r in per_round)}); "
              f"p99 {rows[target][2] / rows[other][2]:.2f}x")


if __name__ == "__main__":
    main()
