"""gunicorn's settings for the hotline, read by `gunicorn app:app` started in this folder
(or named with `-c`). Command-line options override them."""

import gc
from typing import Any

# Access log lines without the query string (%(U)s is the path alone): our own URLs carry
# the call's state, and a webhook misconfigured as GET would carry the caller's number and
# speech. Off unless --access-logfile is given.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def post_worker_init(worker: Any) -> None:
    """The app is built and warm (`ivr.warm`): its objects live as long as the worker, so the
    garbage collector is told to stop walking them (`gc.freeze`). A full collection then walks
    only what calls made, not the menus, engines and libraries: less work per webhook, and
    no pause of a few tens of milliseconds now and then inside a caller's webhook. (No collection
    first: it would take that pause before the first caller, for a few objects' worth of memory.)"""
    gc.freeze()
