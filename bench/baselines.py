"""The two baselines the webhook benchmark compares the service against."""

from __future__ import annotations

from flask import Flask, Response, request
from twilio.twiml.voice_response import Gather, VoiceResponse

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
