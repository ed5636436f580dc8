"""Server time per webhook without sockets: the same calls replayed against each WSGI app,
and straight into the service's protocol (`ivr.voice`, no Flask: what the web layer adds).

Run:  python bench/webhooks_inprocess.py [--rounds 7] [--profile] [--log FILE]

The calls of bench/webhooks.py are recorded once per target (each request's path and
body; for "ivr signed" also Twilio's signature), then replayed straight into the app, the
targets taking turns; the figure is the median round. It isolates what each app costs from gunicorn, the kernel and the callers,
and with --profile shows where the service's time goes (cProfile, by own time). With --log,
the service writes its line per webhook to FILE, as under gunicorn's default log level
(the other runs, like bench/webhooks.py's servers, log only warnings).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import random
import re
import statistics
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable

from werkzeug.test import EnvironBuilder

if not __package__:  # run as `python bench/x.py`, not `-m bench.x`: sys.path starts at bench/, not the checkout
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from twilio.request_validator import RequestValidator  # noqa: E402

from bench.baselines import TOKEN, constant_app, signed_tutorial_app, tutorial_app  # noqa: E402
from bench.service import service  # noqa: E402
from bench.webhooks import CALLER, CALLS, heard  # noqa: E402
from ivr.signatures import TwilioParams  # noqa: E402
from ivr.wire import Request as WireRequest  # noqa: E402
from ivr.wire import Transport, voice_transport  # noqa: E402

App = Callable[[dict[str, Any], Any], Any]
Request = tuple[dict[str, Any], bytes]


def request(path: str, params: dict[str, str], validator: RequestValidator | None) -> Request:
    body = urllib.parse.urlencode(params).encode()
    url, _, query = path.partition("?")
    headers = [("X-Twilio-Signature", validator.compute_signature("http://localhost" + path, TwilioParams(params)))
               ] if validator else []
    environ = EnvironBuilder(path=url, query_string=query, method="POST", data=body, headers=headers,
                             content_type="application/x-www-form-urlencoded").get_environ()
    return environ, body


def send(app: App | Transport, req: Request | WireRequest) -> str:
    """One request to a WSGI app, or to a protocol transport (no environ: what the protocol gets)."""
    if isinstance(req, WireRequest):
        return app(req).text  # type: ignore[call-arg, arg-type, union-attr]
    environ, body = req
    environ = {**environ, "wsgi.input": io.BytesIO(body)}
    return b"".join(app(environ, lambda status, headers, exc_info=None: None)).decode()  # type: ignore[call-arg]


def record(app: App | Transport, count: int, validator: RequestValidator | None = None,
           protocol: bool = False) -> list[Any]:
    """`count` requests of whole calls, as bench/webhooks.py's callers make them (signed by
    `validator`'s token when given; as the protocol's requests when `protocol`)."""
    rng, sent = random.Random(1), list[Any]()

    def make(path: str, params: dict[str, str]) -> Request | WireRequest:
        return WireRequest(path, params) if protocol else request(path, params, validator)

    while len(sent) < count:
        params = {**CALLER, "CallSid": f"CA{rng.getrandbits(64):016x}"}
        sent.append(make("/voice", params))
        body = send(app, sent[-1])
        for token in rng.choice(CALLS).split():
            match = re.search(r'<Gather[^>]*action="([^"]+)"', body)
            if not match:
                break
            sent.append(make(match.group(1).replace("&amp;", "&"), {**params, **heard(token)}))
            body = send(app, sent[-1])
    return sent


def replay(app: App | Transport, requests: list[Any]) -> float:
    """Microseconds per request."""
    began = time.perf_counter()
    for req in requests:
        send(app, req)
    return (time.perf_counter() - began) / len(requests) * 1e6


PROTOCOL = "ivr protocol"


def make_apps() -> dict[str, App | Transport]:
    """The targets of bench/webhooks.py, as WSGI apps in this process, and the service's protocol."""
    os.environ.setdefault("IVR_STATE_SECRET", "bench")
    unsigned = service(config={"ALLOW_UNSIGNED": True})
    return {"constant": constant_app, "tutorial": tutorial_app, "tutorial signed": signed_tutorial_app, "ivr": unsigned,
            "ivr signed": service(config={"TWILIO_AUTH_TOKEN": TOKEN}),
            PROTOCOL: voice_transport(unsigned.extensions["ivr"].voice)}


SIGNED = ("tutorial signed", "ivr signed")


def validator(target: str) -> RequestValidator | None:
    """What signs the target's requests, as Twilio would: only the signed service checks."""
    return RequestValidator(TOKEN) if target in SIGNED else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=400, help="recorded per target")
    parser.add_argument("--profile", action="store_true", help="then profile the service's replay")
    parser.add_argument("--log", metavar="FILE", help="the service's INFO lines (one per webhook) go to FILE")
    args = parser.parse_args()
    if args.log:
        handler = logging.FileHandler(args.log)
        handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"))
        ours = logging.getLogger("ivr")
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
        ours.propagate = False
    apps = make_apps()
    recorded = {name: record(app, args.requests, validator(name), name == PROTOCOL) for name, app in apps.items()}
    times: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(args.rounds):
        for name, app in apps.items():
            times[name].append(replay(app, recorded[name]))
    base = statistics.median(times["constant"])
    print(f"{'target':<15} {'us/request':>11} {'vs constant':>12}")
    for name in apps:
        us = statistics.median(times[name])
        print(f"{name:<15} {us:>11.1f} {us / base:>11.2f}x")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(replay, apps["ivr"], recorded["ivr"] * 5)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
