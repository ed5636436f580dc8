"""What keeping call records costs a webhook: the signed service recording on SQLite and on
PostgreSQL against the same service recording nothing, in paired rounds of one run.

Run:  python -m bench.records [--seconds 5] [--rounds 3] [--callers 8] [--postgres URL]

Each target is the service as deployed (gunicorn, 2 workers, every request signed), with
the same calls as bench/webhooks.py; they take turns round after round, and each round's
rate is compared with the "off" round beside it, so the host's drift cancels. Target:
>= 0.9x. PostgreSQL is the server at --postgres (default $IVR_TEST_DATABASE_URL, as
.ci/run starts one); a fresh database is made there for the run and dropped after it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, make_url, select, text

from bench.webhooks import Target, load, server_cpu, start
from ivr.tables import CallRecord


def admin(server_url: str, statement: str) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def recorded(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(CallRecord)).scalar_one())
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per target and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callers", type=int, default=8, help="concurrent calls in all")
    parser.add_argument("--postgres", default=os.environ.get("IVR_TEST_DATABASE_URL"),
                        help="a PostgreSQL server URL (postgresql+psycopg://...) where a database may be made")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ivr-bench-records-"))
    targets = {"off": {"IVR_RECORDS": "false"}, "sqlite": {"IVR_DATABASE_URL": f"sqlite:///{folder / 'r.sqlite3'}"}}
    pg_url = None
    if args.postgres:
        name = f"ivr_bench_{uuid.uuid4().hex[:8]}"
        admin(args.postgres, f'CREATE DATABASE "{name}"')
        pg_url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        targets["postgresql"] = {"IVR_DATABASE_URL": pg_url}
    else:
        print("no --postgres (or IVR_TEST_DATABASE_URL): PostgreSQL left out")
    ports = {name: 18100 + i for i, name in enumerate(targets)}
    service = Target("bench.service:service()", signed=True)
    servers = {name: start(service, ports[name], env) for name, env in targets.items()}
    rates: dict[str, list[float]] = {name: [] for name in targets}
    cpu = {name: 0.0 for name in targets}
    requests = {name: 0 for name in targets}
    try:
        for name in targets:
            load(ports[name], True, min(1.0, args.seconds), args.callers)  # warm up: menus loaded, tables made
        for _ in range(args.rounds):
            for name in targets:
                before = server_cpu(servers[name]) or 0.0
                got = load(ports[name], True, args.seconds, args.callers)
                cpu[name] += (server_cpu(servers[name]) or 0.0) - before
                rates[name].append(len(got) / args.seconds)
                requests[name] += len(got)
        time.sleep(0.5)  # the writers' last batches
        counts = {name: recorded(env["IVR_DATABASE_URL"]) for name, env in targets.items() if "IVR_DATABASE_URL" in env}
    finally:
        for server in servers.values():
            server.terminate()
            server.wait()
        if pg_url and args.postgres:
            admin(args.postgres, f'DROP DATABASE IF EXISTS "{make_url(pg_url).database}" WITH (FORCE)')
    print(f"{'records':<11} {'req/s':>7} {'server us/req':>14} {'calls kept':>11} {'vs off (median round)':>22}")
    for name in targets:
        per_round = [r / o for r, o in zip(rates[name], rates["off"], strict=True)]
        kept = counts.get(name)
        print(f"{name:<11} {statistics.median(rates[name]):>7.0f} {cpu[name] / max(1, requests[name]) * 1e6:>14.0f} "
              f"{'-' if kept is None else kept:>11} {statistics.median(per_round):>21.2f}x"
              f"  (rounds: {', '.join(f'{r:.2f}x' for r in per_round)})")


if __name__ == "__main__":
    main()
