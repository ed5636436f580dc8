"""Thousands of odd webhook requests: never a 5xx, always valid TwiML."""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET
from typing import Any

from flask import request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import MENU_PATH, WEEKDAY_MORNING

from ivr.web import create_app

APP = create_app(str(MENU_PATH), clock=lambda: WEEKDAY_MORNING,
                 config={"ALLOW_UNSIGNED": True, "STATE_SECRET": "fuzz"})
CLIENT = APP.test_client()
VALID_STATE = CLIENT.post("/voice", data={"CallSid": "CAfuzz"}).get_data(as_text=True).split('action="')[1].split('"')[0]

text = st.one_of(st.text(max_size=50), st.text(min_size=1000, max_size=20000), st.sampled_from(
    ["", "1", "2", "9", "0", "*", "#", "12", "99999999999", "-1", "1.5", "\x00", "はい", "yes", "no", "%00", "<Say>"]))
params = st.dictionaries(
    st.sampled_from(["CallSid", "From", "To", "Digits", "SpeechResult", "Confidence", "CallStatus",
                     "DialCallStatus", "AccountSid", "lang", "s"]) | st.text(max_size=20),
    text, max_size=8)
WEBHOOKS = ["/voice", "/voice/gather", "/voice/dial", "/voice/status"]
paths = st.sampled_from([*WEBHOOKS, "/voice/nowhere", "/"])
states = st.one_of(st.just(""), st.just(VALID_STATE.split("s=")[1]), st.text(max_size=300))


def assert_twiml(reply: Any, path: str = "", answered: bool = False) -> None:
    """Valid TwiML that leads the caller on: a prompt, a transfer, a redirect, or words before
    hanging up; a bare <Hangup/> only when staff answered a transfer and the call is over."""
    assert reply.status_code < 500
    assert reply.mimetype == "text/xml"
    root = ET.fromstring(reply.get_data(as_text=True))
    assert root.tag == "Response"
    verbs = [v.tag for v in root]
    assert set(verbs) <= {"Say", "Gather", "Redirect", "Dial", "Hangup", "Reject", "Play"}
    if reply.status_code != 200:
        assert reply.status_code == 405 and verbs == ["Reject"]
    elif path == "/voice/status":
        assert verbs == []
    elif verbs == ["Hangup"]:
        assert path == "/voice/dial" and answered
    else:
        assert verbs and not {"Gather", "Redirect", "Dial", "Say", "Play"}.isdisjoint(verbs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=paths, state=states, data=params, method=st.sampled_from(["POST", "GET"]))
def test_any_request_gets_valid_twiml(path: str, state: str, data: dict[str, str], method: str) -> None:
    query = {"s": state}
    if method == "POST":
        reply = CLIENT.post(path, query_string=query, data=data)
    else:
        reply = CLIENT.get(path, query_string={**data, **query})
        assert reply.status_code == 405 or path not in WEBHOOKS  # webhooks are POST only
    assert_twiml(reply, path, data.get("DialCallStatus") in ("completed", "answered"))


@settings(max_examples=300, deadline=None)
@given(digits=text, speech=text, dial=text)
def test_odd_input_on_a_live_call_reprompts_or_routes_safely(digits: str, speech: str, dial: str) -> None:
    for path in ("/voice/gather", "/voice/dial"):
        reply = CLIENT.post(VALID_STATE.replace("/voice/gather", path).replace("&amp;", "&"),
                            data={"CallSid": "CAfuzz", "Digits": digits, "SpeechResult": speech,
                                  "DialCallStatus": dial})
        assert_twiml(reply, path, dial in ("completed", "answered"))


def test_a_huge_body_still_gets_twiml() -> None:
    reply = CLIENT.post("/voice/gather", data={"SpeechResult": "x" * 200_000})
    assert_twiml(reply)


@settings(max_examples=300, deadline=None)
@given(form=st.dictionaries(st.text(min_size=1, max_size=30).filter(lambda name: "=" not in name),
                            st.text(max_size=60), max_size=30))
def test_twilio_parameters_are_read_as_the_standard_library_reads_them(form: dict[str, str]) -> None:
    """The webhook's form parser (fast-query-parsers) must agree with urllib on every UTF-8
    form Twilio could send: the signature check and the caller's input depend on it. (It
    splits a *name* holding an escaped "=" wrongly; Twilio's parameter names have none.)"""
    body = urllib.parse.urlencode(form)
    with APP.test_request_context("/voice", method="POST", data=body,
                                  content_type="application/x-www-form-urlencoded"):
        assert request.params == dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
