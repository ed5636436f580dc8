"""Fuzz the service as deployed, then break it the way a running hotline gets broken.

    python bench/fuzz_service.py [--signed 10000] [--unsigned 2000] [--seed 1]

`gunicorn app:app` with 2 workers (4 for the reload phase), signed, logging at INFO with
the access log on (the most a log can hold), on a copy of the free dial:

1. fuzz: signed and unsigned odd requests (odd keys, speech, CallSids with newlines,
   states from real calls posted to the wrong webhook or mangled, strange query strings,
   GET instead of POST, junk clock headers). Counted: 5xx answers, tracebacks in the
   logs, log lines holding a caller's number or speech, and 200 answers that do not lead
   the caller on (a prompt, a transfer, a redirect, or words before hanging up; a bare
   <Hangup/> only after staff answered a transfer).
2. reload: a good save, and the seconds until every worker has it in service (from the
   time each worker's log line appears); then a broken save, refused once by each.
3. kill: with the menu broken on disk, `kill -9` of a worker while calls go on: failed
   requests, and whether gunicorn keeps serving.

Prints the figures; exits 1 if any check fails. `tests/test_bench.py` runs it briefly.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "fuzz-auth-token"
WEBHOOKS = ["/voice", "/voice/gather", "/voice/dial", "/voice/status"]
KEYS = ["", "1", "2", "3", "5", "9", "0", "*", "#", "12", "7777", "٣", "²", "1\n2", "x" * 300]
SPEECH = ["", "yes", "no", "はい", "いいえ", "sí", "não", "I lost my card", "x" * 2000]
DIAL = ["", "completed", "answered", "busy", "no-answer", "failed", "\n"]
QUERIES = ["", "restarts=%C2%B2", "restarts=99999999999999999999", "lang=en", "lang=%E3%81%82", "x=%2F%41",
           "lang=zz&restarts=1", "s=", "s=garbage.mac"]
TIMES = ["", "2026-12-07T10:00:00+09:00", "2026-12-06T23:00:00+09:00", "2022-07-01T10:00:00+09:00", "tomorrow"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """gunicorn app:app on a copy of the free dial, in a folder of its own."""

    def __init__(self, folder: Path, workers: int) -> None:
        self.folder, self.port = folder, free_port()
        self.menu = folder / "free_dial.yaml"
        if not self.menu.exists():
            shutil.copy(ROOT / "menus" / "free_dial.yaml", self.menu)
        self.error_log, self.access_log = folder / f"error-{self.port}.log", folder / f"access-{self.port}.log"
        env = {**os.environ, "IVR_TWILIO_AUTH_TOKEN": TOKEN, "IVR_STATE_SECRET": "fuzz", "IVR_MENU": str(self.menu),
               "IVR_MENU_ARCHIVE": str(folder / "archive"), "IVR_ALLOW_CLOCK_HEADER": "true",
               "IVR_PROMPTS": str(folder / "prompts")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "info", "--error-logfile", str(self.error_log), "--access-logfile", str(self.access_log),
             "app:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.workers = workers
        deadline = time.monotonic() + 30
        while len(self.booted()) < workers:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                sys.exit("gunicorn did not start:\n" + self.logs())
            time.sleep(0.05)

    def booted(self) -> set[int]:
        return set(map(int, re.findall(r"\[(\d+)\] \[INFO\] serving menu ", self.logs())))

    def children(self) -> set[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return set(map(int, path.read_text().split())) if path.exists() else set()

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.error_log, self.access_log) if p.exists())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


class Caller:
    """One HTTP connection posting like Twilio, signed or not; remembers every number and
    phrase it sent, so the logs can be searched for them afterwards."""

    def __init__(self, port: int, rng: random.Random) -> None:
        self.port, self.rng = port, rng
        self.validator = RequestValidator(TOKEN)
        self.secrets: list[str] = []
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, method: str, target: str, params: dict[str, str], signed: bool,
             headers: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(params)
        head = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        if signed:
            head["X-Twilio-Signature"] = self.validator.compute_signature(
                f"http://127.0.0.1:{self.port}{target}", params if method == "POST" else {})
        if method == "GET":
            target += ("&" if "?" in target else "?") + body
        for attempt in range(2):
            try:
                self.conn.request(method, target, body=body if method == "POST" else None, headers=head)
                reply = self.conn.getresponse()
                return reply.status, reply.read().decode("utf-8", "replace")
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    return 0, ""
        return 0, ""

    def params(self) -> dict[str, str]:
        rng = self.rng
        number = "+81" + "".join(rng.choice("0123456789") for _ in range(10))
        marker = "zq" + "".join(rng.choice("abcdefghij") for _ in range(8))
        self.secrets += [number[3:], marker]
        sid = rng.choice(["CA" + os.urandom(16).hex(), "CA1\n[INFO] forged line", "", "CA" + "9" * 500])
        params = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": number, "Caller": number,
                  "To": "+81120950178", "CallStatus": rng.choice(["ringing", "in-progress", "completed\nforged"])}
        for name, values in (("Digits", KEYS), ("SpeechResult", SPEECH), ("DialCallStatus", DIAL)):
            if rng.random() < 0.5:
                params[name] = rng.choice(values)
        if rng.random() < 0.5:
            params["SpeechResult"] = f"my name is {marker}"
        return params


def leads_on(status: int, document: str, path: str, answered: bool) -> bool:
    try:
        root = ET.fromstring(document)
    except ET.ParseError:
        return False
    verbs = [v.tag for v in root]
    if root.tag != "Response":
        return False
    if status in (403, 405):
        return verbs == ["Reject"]
    if path == "/voice/status":
        return verbs == []
    if verbs == ["Hangup"]:
        return path == "/voice/dial" and answered
    return bool({"Gather", "Redirect", "Dial", "Say", "Play"} & set(verbs))


def states(caller: Caller) -> list[str]:
    """Query strings of real calls: a Gather's and a Dial's, taken from the answers."""
    found = []
    for script in (["2"], ["2", "1"], ["2", "5", "1"]):
        params = {"CallSid": "CAstate" + os.urandom(8).hex(), "From": "+819000000000"}
        status, doc = caller.send("POST", "/voice", params, True, {"X-IVR-At": "2026-12-07T10:00:00+09:00"})
        for key in script:
            action = re.search(r'action="([^"]+)"', doc)
            if action is None:
                break
            target = action.group(1).replace("&amp;", "&")
            status, doc = caller.send("POST", target, {**params, "Digits": key}, True,
                                      {"X-IVR-At": "2026-12-07T10:00:00+09:00"})
        for action in re.findall(r'action="([^"]+)"', doc):
            found.append(urllib.parse.urlsplit(action.replace("&amp;", "&")).query)
    return found


def fuzz(service: Service, signed: int, unsigned: int, seed: int) -> dict[str, int]:
    counts = {"requests": 0, "5xx": 0, "not led on": 0, "no answer": 0}
    lock = threading.Lock()
    secrets: list[str] = []
    known = states(Caller(service.port, random.Random(seed)))

    def worker(index: int, total: int, is_signed: bool) -> None:
        rng = random.Random(seed * 1000 + index + (0 if is_signed else 500))
        caller = Caller(service.port, rng)
        for _ in range(total):
            path = rng.choice([*WEBHOOKS, *WEBHOOKS, "/voice/nowhere", "/x"])
            query = rng.choice(known + QUERIES) if rng.random() < 0.7 else rng.choice(QUERIES)
            target = path + (f"?{query}" if query else "")
            params = caller.params()
            method = "GET" if rng.random() < 0.1 else "POST"
            at = rng.choice(TIMES)
            status, doc = caller.send(method, target, params, is_signed, {"X-IVR-At": at} if at else {})
            answered = params.get("DialCallStatus") in ("completed", "answered")
            with lock:
                counts["requests"] += 1
                if status == 0:
                    counts["no answer"] += 1
                elif status >= 500:
                    counts["5xx"] += 1
                elif status != 404 and not leads_on(status, doc, path, answered):
                    counts["not led on"] += 1
        with lock:
            secrets.extend(caller.secrets)

    threads = 4
    jobs = [(i, signed // threads, True) for i in range(threads)] + [(i, unsigned // threads, False) for i in range(threads)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        for future in [pool.submit(worker, *job) for job in jobs]:
            future.result()
    logs = service.logs()
    counts["tracebacks in the logs"] = logs.count("Traceback")
    counts["log lines with a caller's number or speech"] = sum(
        1 for line in logs.splitlines() if any(s in line for s in secrets))
    counts["forged log lines"] = sum(1 for line in logs.splitlines() if line.startswith("[INFO] forged"))
    return counts


def save(path: Path, text: str) -> float:
    path.write_text(text, encoding="utf-8")
    return time.monotonic()


def reload(folder: Path) -> dict[str, float]:
    service = Service(folder, 4)
    try:
        good = service.menu.read_text(encoding="utf-8")
        seen: dict[int, float] = {}
        saved = save(service.menu, good.replace('version: "2026.11.1"', 'version: "2026.11.9"'))
        while len(seen) < service.workers and time.monotonic() - saved < 30:
            for pid in map(int, re.findall(r"\[(\d+)\] \[INFO\] menu 2026\.11\.9\S* now in service", service.logs())):
                seen.setdefault(pid, time.monotonic() - saved)
            time.sleep(0.01)
        save(service.menu, good.replace("next: fraud_warning", "next: fraud"))
        time.sleep(3)
        refusals = len(re.findall(r"menu change refused, still serving 2026\.11\.9", service.logs()))
        return {"workers that took the save": len(seen), "slowest worker, seconds after the save": max(seen.values(), default=float("nan")),
                "refusals of the broken save (one per worker)": refusals}
    finally:
        service.stop()


def kill(folder: Path, seed: int) -> dict[str, int]:
    service = Service(folder, 2)
    try:
        time.sleep(1.5)  # the broken save from the reload phase is on disk: both workers booted from the archive
        caller = Caller(service.port, random.Random(seed))
        failures = answered = 0
        stop = time.monotonic() + 6
        killed = False
        while time.monotonic() < stop:
            if not killed and time.monotonic() > stop - 5:
                os.kill(min(service.children()), signal.SIGKILL)
                killed = True
            status, doc = caller.send("POST", "/voice", caller.params(), True)
            answered += status == 200
            failures += status != 200
        alive = service.proc.poll() is None and len(service.children()) == 2
        return {"calls answered": answered, "calls failed": failures, "gunicorn still serving": int(alive),
                "workers that failed to boot": service.logs().count("Worker failed to boot")}
    finally:
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signed", type=int, default=10_000)
    parser.add_argument("--unsigned", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ivr-fuzz-"))
    failed = False
    try:
        service = Service(folder, 2)
        try:
            counts = fuzz(service, args.signed, args.unsigned, args.seed)
        finally:
            service.stop()
        print(f"fuzz ({args.signed:,} signed, {args.unsigned:,} unsigned requests against gunicorn, 2 workers)")
        for name, value in counts.items():
            print(f"  {name:45} {value:>8,}")
        failed |= any(counts[k] for k in counts if k != "requests")
        figures = reload(folder)
        print("reload (4 workers, no traffic)")
        for name, number in figures.items():
            print(f"  {name:45} {number:>8.2f}" if isinstance(number, float) else f"  {name:45} {number:>8}")
        failed |= figures["workers that took the save"] != 4 or figures["refusals of the broken save (one per worker)"] != 4
        killed = kill(folder, args.seed)
        print("kill -9 of a worker, with the menu broken on disk")
        for name, value in killed.items():
            print(f"  {name:45} {value:>8,}")
        failed |= bool(killed["calls failed"] or not killed["gunicorn still serving"] or killed["workers that failed to boot"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("FAILED" if failed else "all checks passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
