"""A worker's first webhook as quick as its tenth: what the first caller would otherwise pay, done at start.

The menu is loaded and linted by `MenuStore` when the service is built; what stayed lazy
was each line's first TwiML (built once per distinct step, `ivr.twiml.Renderer`), the
engine's, the state codec's and the signature's first run, Flask's first request (werkzeug
sorts the routes and imports the IDNA codec), and the call records' writer, whose first
batch ran the migrations inside a worker already answering calls. `warm` does all of that
in `create_app`, through the protocol's own objects and a request for /health: no webhook,
no log line, no call record.
"""

from __future__ import annotations

import io

from flask import Flask

from .engine import Silence
from .recorder import Recorder
from .signatures import Signatures, TwilioParams
from .voice import Voice

MIGRATION_WAIT = 5.0  # seconds a worker's start waits for the records' migrations
_SID = "CA-warm-up"  # never a real CallSid (those are "CA" and 32 hex digits)


def warm(app: Flask, voice: Voice, signatures: Signatures | None) -> None:
    """Run each line's first step and one silence through the engine, codec and renderer;
    start the records writer (it migrates first); compute a signature; serve /health once."""
    now = voice.clock()
    for store in voice.lines.stores():
        revision = store.current()
        renderer = voice.renderer(revision)
        call, step = revision.engine.start(now)
        for _ in range(2):
            token = voice.codec.dump(call, _SID, restarts=0)
            restored = voice.codec.load(token, _SID)
            renderer.render(step, "", token)
            if restored is None or call.ended:
                break
            call = restored[0]
            step = revision.engine.step(call, Silence(), now)
    if isinstance(voice.records, Recorder):
        voice.records.start(wait=MIGRATION_WAIT)
    if signatures is not None:  # OpenSSL looks the digest up on first use
        signatures.valid("http://localhost/voice", TwilioParams(), {"X-Twilio-Signature": "-"})
    environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/health", "QUERY_STRING": "",
               "SERVER_NAME": "localhost", "SERVER_PORT": "80", "HTTP_HOST": "localhost", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO()}
    with app.request_context(environ):  # Flask's and werkzeug's first request, without marking the app as serving
        response = app.process_response(app.make_response(app.dispatch_request()))
        b"".join(response.get_wsgi_response(environ)[0])
