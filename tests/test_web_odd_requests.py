"""What attackers and misconfigured accounts send: never a 5xx, never a traceback, never a
caller's number or speech in a log line, and every caller led on (re-prompted or restarted)."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from support import MENU_PATH, WEEKDAY_MORNING
from test_web import CALL, TOKEN, Twilio, action_of, make_app, twilio, walk
from twilio.request_validator import RequestValidator

from ivr.web import create_app

__all__ = ["twilio"]  # a fixture, shared with test_web

SORRY_JA = "申し訳ありません。最初のメニューからやり直します。"
SORRY_EN = "We are sorry, something went wrong. Let us start again from the main menu."
SHARED_KEY = "shared-key-secret"


def says(root: ET.Element) -> list[str]:
    return [s.text or "" for s in root.iter("Say")]


# -- no 5xx, no traceback ---------------------------------------------------------------
@pytest.mark.parametrize("restarts", ["%C2%B2", "%D9%A3", "1e9", "-1", "99999999999999999999"])
def test_a_strange_restart_count_from_anyone_is_a_restart_not_a_500(restarts: str,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    client = make_app().test_client()  # signed: these requests are not, and reach no webhook
    with caplog.at_level(logging.DEBUG):
        for path in ("/anything", "/voice/nowhere"):
            reply = client.post(f"{path}?restarts={restarts}", data={"From": "+819012345678"})
            assert reply.status_code == 200, path
            assert says(ET.fromstring(reply.get_data(as_text=True))) == [SORRY_JA]
    assert "Traceback" not in caplog.text and "9012345678" not in caplog.text


def test_a_gather_state_posted_as_a_transfer_outcome_restarts_the_call(twilio: Twilio) -> None:
    gather = action_of(walk(twilio, "2"))  # English, at the main menu
    root = twilio.twiml(gather.replace("/voice/gather", "/voice/dial"), DialCallStatus="completed")
    assert [v.tag for v in root] != ["Hangup"]
    assert says(root)[0] == SORRY_EN and root.find("Gather") is not None


def test_a_transfer_state_posted_as_a_key_restarts_the_call(twilio: Twilio) -> None:
    dial = walk(twilio, "2", "1").find("Dial")  # the card desk
    assert dial is not None
    root = twilio.twiml(dial.get("action", "").replace("/voice/dial", "/voice/gather"), Digits="1")
    assert says(root)[0] == SORRY_EN and root.find("Gather") is not None


# -- nothing a caller sent in any log -----------------------------------------------------
def test_webhooks_refuse_get_and_log_nothing_of_the_url(caplog: pytest.LogCaptureFixture) -> None:
    client = make_app().test_client()
    with caplog.at_level(logging.DEBUG):
        for path in ("/voice", "/voice/gather", "/voice/dial", "/voice/status"):
            reply = client.get(path, query_string={**CALL, "SpeechResult": "my secret words", "restarts": "²"})
            assert reply.status_code == 405 and reply.headers["Allow"] == "POST"
            assert ET.fromstring(reply.get_data(as_text=True)).tag == "Response"
    assert "9012345678" not in caplog.text and "secret words" not in caplog.text and "Traceback" not in caplog.text


def test_logged_values_cannot_forge_a_log_line(twilio: Twilio, caplog: pytest.LogCaptureFixture) -> None:
    forged = "CA1\n[2026-12-02 10:00:00 +0000] [1] [INFO] call=CAforged status=completed"
    with caplog.at_level(logging.INFO, logger="ivr"):
        twilio.twiml("/voice", CallSid=forged)
        twilio.twiml("/voice/status", CallSid=forged, CallStatus="completed\nforged", CallDuration="1\r\n2")
        Twilio(twilio.client).client.post("/voice/a%0Ab", data=CALL)  # an unknown path, refused unsigned
    records = [r.getMessage() for r in caplog.records]
    assert records and all("\n" not in r and "\r" not in r for r in records if "refused" not in r)
    assert any('call="CA1\\n[2026-12-02' in r for r in records)
    assert not any(line.startswith("[2026-12-02 10:00:00") for r in records for line in r.splitlines())


def test_speech_and_numbers_never_reach_the_log_on_any_path(twilio: Twilio, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        root = walk(twilio, "2", "5", "1")
        twilio.twiml(action_of(root), SpeechResult="yes my number is 1234 5678 9012", Caller="+819012345678")
        twilio.twiml(action_of(root), SpeechResult="x" * 100_000)  # too large: apologised to
        twilio.post("/voice/gather?s=garbage", SpeechResult="my pin is 4321")
    text = caplog.text
    assert "9012345678" not in text and "1234 5678" not in text and "4321" not in text and "Traceback" not in text


# -- signatures, as Twilio sends them ------------------------------------------------------
@pytest.mark.parametrize("query", ["lang=%E3%81%82", "x=%2F", "x=%41", "x=a%20b&y=%7E"])
def test_signatures_cover_the_url_as_twilio_sent_it(query: str) -> None:
    """Twilio signs the URL as configured, escapes and all; werkzeug's request.url decodes them."""
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ivr.example.jp"}
    for app, base in ((make_app(TRUST_PROXY=True), "https://ivr.example.jp"), (make_app(), "http://localhost"),
                      (make_app(PUBLIC_URL="https://ivr.example.jp"), "https://ivr.example.jp")):
        reply = Twilio(app.test_client()).post(f"/voice?{query}", headers=headers, signed_url=f"{base}/voice?{query}")
        assert reply.status_code == 200, (base, query)


def test_a_proxy_on_another_port_is_signed_for_that_port() -> None:
    twilio = Twilio(make_app(TRUST_PROXY=True).test_client())
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ivr.example.jp", "X-Forwarded-Port": "8443"}
    assert twilio.post("/voice", headers=headers, signed_url="https://ivr.example.jp:8443/voice").status_code == 200
    assert twilio.post("/voice", headers=headers, signed_url="https://ivr.example.jp:9443/voice").status_code == 403


def test_a_refusal_says_which_url_was_checked() -> None:
    reply = make_app(PUBLIC_URL="https://ivr.example.jp/").test_client().post("/voice?lang=en", data=CALL)
    assert reply.status_code == 403 and reply.headers["X-IVR-Checked-URL"] == "https://ivr.example.jp/voice?lang=en"
    assert [v.tag for v in ET.fromstring(reply.get_data(as_text=True))] == ["Reject"]


def post_signed(client: Any, key: str, algorithm: str | None, settings: bool, named: str | None = None) -> int:
    signature = RequestValidator(key).compute_signature("http://localhost/voice", CALL, algorithm)
    headers = {"X-Twilio-Signature": signature}
    if settings:
        headers["X-Twilio-Webhooks-Signature-Settings"] = f"key=webhooks_sharedkey_1,algorithm={named or algorithm}"
    return int(client.post("/voice", data=CALL, headers=headers).status_code)


def test_the_auth_token_and_a_shared_key_are_each_accepted_with_their_algorithm() -> None:
    both = make_app(TWILIO_SHARED_KEY=SHARED_KEY).test_client()
    assert post_signed(both, TOKEN, None, settings=False) == 200                 # the auth token, HMAC-SHA1
    assert post_signed(both, SHARED_KEY, "HMAC_SHA256", settings=True) == 200    # the SharedKey, as it says
    assert post_signed(both, SHARED_KEY, None, settings=False) == 403            # a SharedKey never signs SHA1 bare
    assert post_signed(both, SHARED_KEY, "HMAC_SHA256", True, "HMAC_SHA512") == 403  # one Twilio does not use
    token_only = make_app().test_client()
    assert post_signed(token_only, SHARED_KEY, "HMAC_SHA256", settings=True) == 403
    shared_only = make_app(TWILIO_AUTH_TOKEN=None, TWILIO_SHARED_KEY=SHARED_KEY).test_client()
    assert post_signed(shared_only, SHARED_KEY, "HMAC_SHA256", settings=True) == 200
    assert post_signed(shared_only, TOKEN, None, settings=False) == 403


def test_a_fault_is_logged_with_where_it_happened_but_not_what_the_request_held(
        twilio: Twilio, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any) -> Any:
        raise ValueError("invalid literal for int(): " + "+8190" + "12345678")  # messages may quote a request

    root = twilio.twiml("/voice?lang=en")
    monkeypatch.setattr("ivr.engine.Engine.step", broken)
    with caplog.at_level(logging.ERROR, logger="ivr.web"):
        assert says(twilio.twiml(action_of(root), Digits="1"))[0] == SORRY_EN
    assert "webhook /voice/gather failed: ValueError" in caplog.text and "in _heard" in caplog.text
    assert "9012345678" not in caplog.text


def test_a_broken_audio_manifest_costs_no_call(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Prompt audio that cannot be read is said by Twilio's voice instead: the call goes on."""
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "manifest.json").write_text("[]")
    app = create_app(str(MENU_PATH), clock=lambda: WEEKDAY_MORNING,
                     config={"ALLOW_UNSIGNED": True, "STATE_SECRET": "x", "MENU_CHECK_INTERVAL": 0,
                             "PROMPTS": str(prompts)})
    app.extensions["ivr"].store.refresh()
    root = ET.fromstring(app.test_client().post("/voice", data={"CallSid": "CA1"}).get_data(as_text=True))
    assert [v.tag for v in root] == ["Gather", "Redirect"]
    assert [s.text for s in root.iter("Say")][0] == "日本語は1を押してください。"
    assert "prompt audio in" in caplog.text and "cannot be used" in caplog.text
