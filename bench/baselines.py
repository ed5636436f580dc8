"""The baselines the webhook benchmarks compare the service against: a constant document, and
Twilio's Flask tutorial handler, unsigned and behind the decorator of Twilio's security guide."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather, VoiceResponse

TOKEN = "bench-auth-token"
"""The auth token the signed targets check and the benchmarks' callers sign with."""

CONSTANT = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/voice" method="POST" numDigits="1" '
    'timeout="6"><Say language="en-US" voice="Polly.Joanna">For English, press 2.</Say></Gather>'
    '<Redirect method="POST">/voice</Redirect></Response>'
)

constant_app = Flask("constant")


@constant_app.route("/voice", methods=["POST"])
@constant_app.route("/voice/gather", methods=["POST"])
def constant() -> Response:
    """The stack's limit: Flask under gunicorn returning a fixed document."""
    return Response(CONSTANT, mimetype="text/xml")


tutorial_app = Flask("tutorial")


@tutorial_app.route("/voice", methods=["POST"])
@tutorial_app.route("/voice/gather", methods=["POST"])
def tutorial() -> Response:
    """In the style of Twilio's Flask IVR tutorial: branch on Digits, build a VoiceResponse each time."""
    response = VoiceResponse()
    choice = request.values.get("Digits")
    if choice == "1":
        response.say("You selected sales. Good for you!", voice="Polly.Joanna", language="en-US")
    elif choice == "2":
        response.say("You need support. We will help!", voice="Polly.Joanna", language="en-US")
    gather = Gather(num_digits=1, action="/voice/gather", method="POST", timeout=6)
    gather.say("For sales, press 1. For support, press 2.", voice="Polly.Joanna", language="en-US")
    response.append(gather)
    response.redirect("/voice", method="POST")
    return Response(str(response), mimetype="text/xml")


def validate_twilio_request(view: Callable[..., Any]) -> Callable[..., Any]:
    """The decorator of Twilio's guide "Secure your Flask app by validating incoming Twilio
    requests": every request checked with `RequestValidator.validate` over `request.url` and
    `request.form`, 403 otherwise."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        validator = RequestValidator(TOKEN)
        if validator.validate(request.url, request.form, request.headers.get("X-Twilio-Signature", "")):
            return view(*args, **kwargs)
        return abort(403)

    return checked


signed_tutorial_app = Flask("tutorial_signed")
signed_tutorial_app.add_url_rule("/voice", "voice", validate_twilio_request(tutorial), methods=["POST"])
signed_tutorial_app.add_url_rule("/voice/gather", "gather", validate_twilio_request(tutorial), methods=["POST"])
