"""The service as the benchmarks run it: built like `app:app` (but with no log set-up: the
benchmarks log only warnings), its clock pinned to an open weekday hour. Every run then
plays the same calls whatever the time of day (out of hours, transfers turn into the
closed message and calls end sooner), and no script waits for a transfer that never
comes. Serve it with `gunicorn 'bench.service:service()'`."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from flask import Flask

from ivr.web import create_app

OPEN = dt.datetime(2022, 7, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # a Friday, in the registration rush


def service(menu_path: str | None = None, config: Mapping[str, Any] | None = None) -> Flask:
    """The Flask app (configured as create_app is), at OPEN whatever the wall clock says."""
    return create_app(menu_path, clock=lambda: OPEN, config=config)
