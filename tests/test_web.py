"""The TwiML service: what Twilio receives, signatures, call state, and safety on bad input."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import MENU_PATH, WEEKDAY_MORNING, jst, scenario_scripts, transcript
from twilio.request_validator import RequestValidator

from ivr.engine import Call, Engine, Listen, Press, Transfer
from ivr.simulator import EngineLine, parse_script, play
from ivr.state import StateCodec
from ivr.twiml import Renderer, render
from ivr.voice import Voice
from ivr.web import create_app
from ivr.wire import WireLine, at_time, signed, voice_transport, wsgi_transport

TOKEN = "test-auth-token"
CALL = {"CallSid": "CA" + "1" * 32, "AccountSid": "AC" + "0" * 32, "From": "+819012345678",
        "To": "+81120950178", "CallStatus": "in-progress"}


def make_app(at: Any = WEEKDAY_MORNING, **config: Any) -> Flask:
    settings = {"TWILIO_AUTH_TOKEN": TOKEN, "STATE_SECRET": "test-secret", **config}
    return create_app(str(MENU_PATH), clock=lambda: at, config=settings)


class Twilio:
    """Posts to the service the way Twilio does: signed, with the call's parameters."""

    def __init__(self, client: FlaskClient, base: str = "http://localhost") -> None:
        self.client, self.base = client, base
        self.validator = RequestValidator(TOKEN)

    def post(self, path: str, headers: dict[str, str] | None = None, signed_url: str | None = None,
             **params: str) -> Any:
        data = {**CALL, **params}
        signature = self.validator.compute_signature(signed_url or self.base + path, data)
        return self.client.post(path, data=data, headers={"X-Twilio-Signature": signature, **(headers or {})})

    def twiml(self, path: str, **params: str) -> ET.Element:
        reply = self.post(path, **params)
        assert reply.status_code == 200 and reply.mimetype == "text/xml"
        return ET.fromstring(reply.get_data(as_text=True))


@pytest.fixture
def twilio() -> Twilio:
    return Twilio(make_app().test_client())


def action_of(root: ET.Element) -> str:
    return root.find("Gather").get("action")  # type: ignore[union-attr]


def walk(twilio: Twilio, *digits: str) -> ET.Element:
    root = twilio.twiml("/voice")
    for key in digits:
        root = twilio.twiml(action_of(root), Digits=key)
    return root


# -- the TwiML itself -------------------------------------------------------------------
def test_incoming_call_gathers_one_key_with_prompts_inside(twilio: Twilio) -> None:
    root = twilio.twiml("/voice")
    assert [v.tag for v in root] == ["Gather", "Redirect"]
    gather = root[0]
    assert gather.attrib.keys() == {"input", "action", "method", "timeout", "numDigits", "finishOnKey", "language",
                                    "hints", "speechTimeout"}
    # A key is sent the moment it is pressed (one digit, no finishing key), speech after 2 s of quiet.
    assert gather.get("input") == "dtmf speech" and gather.get("numDigits") == "1" and gather.get("finishOnKey") == ""
    assert gather.get("speechTimeout") == "2"
    # Before a language is chosen, the menu's own language listens, for every language's name.
    assert gather.get("language") == "ja-JP"
    assert {"English", "英語", "español", "한국어"} <= set(gather.get("hints", "").split(", "))
    assert gather.get("timeout") == "6" and gather.get("method") == "POST"
    assert gather.get("action", "").startswith("/voice/gather?s=")
    assert root[1].text == gather.get("action") and root[1].get("method") == "POST"
    voices = [(say.get("language"), say.get("voice")) for say in gather]
    assert voices == [("ja-JP", "Polly.Mizuki"), ("en-US", "Polly.Joanna"), ("cmn-CN", "Polly.Zhiyu"),
                      ("ko-KR", "Polly.Seoyeon"), ("es-MX", "Polly.Mia"), ("pt-BR", "Polly.Camila")]


GATHER_ATTRIBUTES = {"action", "actionOnEmptyResult", "enhanced", "finishOnKey", "hints", "input", "language", "method",
                     "numDigits", "partialResultCallback", "partialResultCallbackMethod", "profanityFilter",
                     "speechModel", "speechTimeout", "timeout"}
"""Every attribute Twilio's <Gather> takes (its TwiML reference)."""


def test_every_listening_node_gathers_keys_and_speech_in_every_language(menu: Any) -> None:
    """Each node that waits, in each language: one <Gather> of keys and speech in the caller's
    recognition language, the node's phrases as hints (at most 500, none over 100 characters or
    holding the comma that separates them), a key sent at once, then the silence redirect."""
    from ivr.menu import LISTENING, LanguageNode

    engine = Engine(menu)
    for name, node in menu.nodes.items():
        if not isinstance(node, LISTENING):
            continue
        for code, lang in menu.languages.items():
            call = Call(node=name, lang=menu.menu.default_language if isinstance(node, LanguageNode) else code,
                        revision=engine.revision)
            step = engine.step(call, Press("*"), WEEKDAY_MORNING)  # repeat: the node's own prompt again
            root = ET.fromstring(render(step, menu, "/voice/gather?s=x", "/voice/dial?s=x"))
            assert [v.tag for v in root] == ["Gather", "Redirect"], (name, code)
            gather = root[0]
            assert set(gather.attrib) <= GATHER_ATTRIBUTES
            assert gather.get("input") == "dtmf speech" and gather.get("numDigits") == "1"
            assert gather.get("finishOnKey") == "" and gather.get("speechTimeout", "").isdigit()
            assert gather.get("language") == menu.languages[call.lang].speech
            hints = gather.get("hints", "").split(", ")
            assert 0 < len(hints) <= 500 and all(0 < len(h) <= 100 and "," not in h for h in hints), (name, code)
            own = [p for by_lang in getattr(node, "phrases", {}).values() for p in by_lang.get(call.lang, ())]
            assert set(own) <= set(hints), (name, code)
            if not isinstance(node, LanguageNode):
                assert set(lang.yes if name.startswith("q_") else menu.speech.commands.operator[code]) <= set(hints)


def test_questions_listen_for_speech_in_the_callers_language(twilio: Twilio) -> None:
    gather = walk(twilio, "3", "5", "1").find("Gather")
    assert gather is not None
    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == "cmn-Hans-CN"
    assert "是" in gather.get("hints", "") and "没有" in gather.get("hints", "")
    assert gather.get("speechTimeout") == "2"
    assert [s.get("language") for s in gather] == ["cmn-CN"]


def test_phone_numbers_are_read_digit_by_digit(twilio: Twilio) -> None:
    text = " ".join(s.text or "" for s in walk(twilio, "2").iter("Say"))
    assert "0 1 2 0, 9 5, 0 1 7 8" in text and "pound 9 1 1 0" in text and "0120-95-0178" not in text


def test_transfer_dials_with_a_timeout_and_an_action(twilio: Twilio) -> None:
    root = walk(twilio, "2", "1")
    assert [v.tag for v in root] == ["Say", "Say", "Dial"]
    dial = root[2]
    assert dial.get("timeout") == "30" and dial.get("method") == "POST"
    assert dial.get("action", "").startswith("/voice/dial?s=")
    assert [(n.tag, n.text) for n in dial] == [("Number", "+81120950178")]


def test_unanswered_transfer_offers_a_choice(twilio: Twilio) -> None:
    dial = walk(twilio, "2", "1").find("Dial")
    root = twilio.twiml(dial.get("action"), DialCallStatus="no-answer")  # type: ignore[arg-type,union-attr]
    assert "all our staff are busy" in root[0][0].text  # type: ignore[operator]


def test_answered_transfer_hangs_up_when_staff_finish(twilio: Twilio) -> None:
    dial = walk(twilio, "2", "1").find("Dial")
    root = twilio.twiml(dial.get("action"), DialCallStatus="completed")  # type: ignore[arg-type,union-attr]
    assert [v.tag for v in root] == ["Hangup"]


def test_goodbye_says_and_hangs_up(twilio: Twilio) -> None:
    root = walk(twilio, "2", "5", "1", "2")
    root = twilio.twiml(action_of(root), Digits="3")
    assert [v.tag for v in root] == ["Say", "Hangup"] and root[0].text == "Thank you for calling. Goodbye."


def test_silence_comes_back_through_the_redirect(twilio: Twilio) -> None:
    root = twilio.twiml("/voice")
    root = twilio.twiml(root.find("Redirect").text)  # type: ignore[arg-type,union-attr]
    assert root[0][0].text == "申し訳ありません。操作が確認できませんでした。"


def test_lang_parameter_skips_the_language_choice(twilio: Twilio) -> None:
    root = twilio.twiml("/voice?lang=es")
    assert root[0][0].text.startswith("¿Tarjeta perdida o robada? Oprima 2")  # type: ignore[union-attr]
    assert root[0][1].text.startswith("Esta es la línea gratuita de My Number")  # type: ignore[union-attr]


def test_health_reports_the_menu() -> None:
    reply = make_app().test_client().get("/health")
    data = dict(reply.json or {})
    revision = data.pop("revision")
    lines = data.pop("lines")
    assert data.pop("worker") > 0
    assert data == {"status": "ok", "menu": "My Number free dial", "version": "2026.11.1",
                    "menu_file": "in service", "archive": "ok", "lines_file": "in service",
                    "records": {"database": "sqlite", "written": 0, "lost": 0, "queued": 0, "state": "ok"}}
    assert re.fullmatch(r"2026\.11\.1\+[0-9a-f]{8}", revision)
    assert list(lines) == ["city.yaml"] and re.fullmatch(r"2026\.12\.1\+[0-9a-f]{8}", lines["city.yaml"])


def test_status_callback_answers_empty_twiml(twilio: Twilio) -> None:
    root = twilio.twiml("/voice/status", CallStatus="completed", CallDuration="42")
    assert root.tag == "Response" and list(root) == []


# -- signatures ---------------------------------------------------------------------------
def test_unsigned_and_badly_signed_requests_are_refused() -> None:
    client = make_app().test_client()
    assert client.post("/voice", data=CALL).status_code == 403
    bad = client.post("/voice", data=CALL, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert bad.status_code == 403
    tampered = Twilio(client)
    signature = tampered.validator.compute_signature("http://localhost/voice", CALL)
    changed = client.post("/voice", data={**CALL, "From": "+819099999999"}, headers={"X-Twilio-Signature": signature})
    assert changed.status_code == 403


def test_every_route_but_health_and_audio_checks_signatures() -> None:
    """Webhooks are signed by decoration (`@webhook`), so a route added without it must fail here."""
    app = make_app()
    client, twilio = app.test_client(), Twilio(app.test_client())
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    assert routes >= {"/voice", "/voice/gather", "/voice/dial", "/voice/status"}
    for route in routes - {"/health", "/audio/<lang>/<name>"}:
        assert client.post(route, data=CALL).status_code == 403, route
        assert client.get(route, query_string=CALL).status_code == 405, route  # webhooks are POST only
        assert twilio.post(route).status_code == 200, route


def test_blank_parameters_are_part_of_the_signature() -> None:
    """Twilio signs every parameter it posts, blank ones (FinishedOnKey=) included."""
    twilio = Twilio(make_app().test_client())
    root = twilio.twiml("/voice")
    assert twilio.post(action_of(root), Digits="1", FinishedOnKey="").status_code == 200
    signature = twilio.validator.compute_signature("http://localhost/voice", {**CALL, "Digits": "1"})
    dropped = twilio.client.post("/voice", data={**CALL, "Digits": "1", "FinishedOnKey": ""},
                                 headers={"X-Twilio-Signature": signature})
    assert dropped.status_code == 403


def test_webhooks_signed_with_sha256_are_checked_with_it() -> None:
    """Accounts that sign webhooks with HMAC-SHA256 name it in X-Twilio-Webhooks-Signature-Settings."""
    client = make_app().test_client()
    validator = RequestValidator(TOKEN)
    settings = {"X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"}
    sha256 = validator.compute_signature("http://localhost/voice", CALL, "HMAC_SHA256")
    sha1 = validator.compute_signature("http://localhost/voice", CALL)
    assert client.post("/voice", data=CALL, headers={"X-Twilio-Signature": sha256, **settings}).status_code == 200
    assert client.post("/voice", data=CALL, headers={"X-Twilio-Signature": sha1, **settings}).status_code == 403
    assert client.post("/voice", data=CALL, headers={"X-Twilio-Signature": sha256}).status_code == 403


def test_behind_a_proxy_the_public_url_is_checked() -> None:
    public = "https://ivr.example.jp/voice"
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ivr.example.jp"}
    trusting = Twilio(make_app(TRUST_PROXY=True).test_client())
    assert trusting.post("/voice", headers=headers, signed_url=public).status_code == 200
    naive = Twilio(make_app().test_client())
    assert naive.post("/voice", headers=headers, signed_url=public).status_code == 403
    configured = Twilio(make_app(PUBLIC_URL="https://ivr.example.jp").test_client())
    assert configured.post("/voice", signed_url=public).status_code == 200
    assert configured.post("/voice").status_code == 403


def test_starting_without_a_token_is_an_explicit_choice(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(RuntimeError, match="IVR_TWILIO_AUTH_TOKEN"):
        make_app(TWILIO_AUTH_TOKEN=None)
    with caplog.at_level(logging.WARNING, logger="ivr.web"):
        app = make_app(TWILIO_AUTH_TOKEN=None, ALLOW_UNSIGNED=True)
    assert "UNSIGNED MODE" in caplog.text
    assert app.test_client().post("/voice", data=CALL).status_code == 200


# -- call state -------------------------------------------------------------------------
def test_state_survives_between_app_instances_sharing_a_secret() -> None:
    first, second = Twilio(make_app().test_client()), Twilio(make_app().test_client())
    action = action_of(first.twiml("/voice"))
    root = second.twiml(action, Digits="2")
    assert root[0][2].text.startswith("Please choose from the following")  # type: ignore[union-attr]


@pytest.mark.parametrize("mangle", [
    lambda a: a[:-3] + "abc",                      # forged signature
    lambda a: re.sub(r"s=[^&]*", "s=", a),         # no state
    lambda a: a.replace("s=", "s=x"),              # garbage
])
def test_bad_state_apologises_and_restarts_at_the_main_menu(twilio: Twilio, mangle: Any) -> None:
    action = action_of(walk(twilio, "2", "5"))
    root = twilio.twiml(mangle(action), Digits="1")
    says = [s.text for s in root.iter("Say")]
    assert says[0] == "申し訳ありません。最初のメニューからやり直します。"
    assert says[1].startswith("お聞きになりたい内容の番号を押してください")  # type: ignore[union-attr]


def test_state_from_another_call_is_not_accepted(twilio: Twilio) -> None:
    action = action_of(walk(twilio, "2", "5"))
    root = twilio.twiml(action, Digits="1", CallSid="CA" + "2" * 32)
    assert [s.text for s in root.iter("Say")][0] == "申し訳ありません。最初のメニューからやり直します。"


def test_expired_state_restarts() -> None:
    twilio = Twilio(make_app(STATE_MAX_AGE=-1).test_client())
    root = twilio.twiml(action_of(twilio.twiml("/voice")), Digits="2")
    assert [s.text for s in root.iter("Say")][0] == "申し訳ありません。最初のメニューからやり直します。"


def test_state_is_valid_for_its_max_age_and_not_from_the_future(monkeypatch: pytest.MonkeyPatch) -> None:
    codec, sid = StateCodec("secret", max_age=600), "CA" + "1" * 32
    call = Call(node="main", lang="en", revision="1", answers={"linked": True})
    issued = 1_800_000_000.0
    monkeypatch.setattr("ivr.state.time.time", lambda: issued)
    token = codec.dump(call, sid, restarts=0)
    for now, valid in [(issued + 600, True), (issued + 601, False), (issued - 60, True), (issued - 61, False)]:
        monkeypatch.setattr("ivr.state.time.time", lambda now=now: now)
        assert (codec.load(token, sid) == (call, 0)) is valid, now - issued
    assert codec.load(token, "CA" + "2" * 32) is None
    assert StateCodec("other secret", 600).load(token, sid) is None


def test_body_limit_from_the_environment_is_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVR_MAX_CONTENT_LENGTH", "2000")
    twilio = Twilio(make_app().test_client())
    assert twilio.twiml("/voice").find("Gather") is not None
    root = twilio.twiml("/voice", SpeechResult="x" * 3000)
    assert [s.text for s in root.iter("Say")][0] == "申し訳ありません。最初のメニューからやり直します。"


def test_logs_never_show_the_callers_number(twilio: Twilio, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        walk(twilio, "2", "5", "1", "1")
        twilio.twiml("/voice/status", CallStatus="completed")
    assert "call=CA" in caplog.text
    assert "9012345678" not in caplog.text and "caller=" in caplog.text


# -- the same call through the engine and through TwiML ---------------------------------------
@pytest.mark.parametrize(("script", "at"), scenario_scripts())
def test_transcript_through_twiml_equals_the_engine(engine: Engine, script: str, at: Any) -> None:
    direct = list(play(EngineLine(engine, at), parse_script(script)))
    app = make_app(at, TWILIO_AUTH_TOKEN=None, ALLOW_UNSIGNED=True)
    wired = list(play(WireLine(wsgi_transport(app), engine.menu), parse_script(script)))
    assert transcript(wired) == transcript(direct)  # to the end: the transfer or hang-up each call ends with


@pytest.mark.parametrize("root", ["", "/ivr", "/a&b<c>"])
def test_cached_twiml_is_the_document_built_from_scratch(engine: Engine, root: str) -> None:
    """The renderer puts each call's state token into a cached document, unescaped: a token must
    need no escaping, and the result must be what VoiceResponse builds from the whole URLs."""
    renderer = Renderer(engine.menu)
    call, listen = engine.start(WEEKDAY_MORNING)
    engine.step(call, Press("2"), WEEKDAY_MORNING)  # English, then the card desk
    transfer = engine.step(call, Press("1"), WEEKDAY_MORNING)
    assert isinstance(listen.action, Listen) and isinstance(transfer.action, Transfer)
    token = StateCodec("secret", 60).dump(Call("main", "en", "v", 1, {"has_card": True}), "CA1", restarts=1)
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", token)
    for step in (listen, transfer):
        scratch = render(step, engine.menu, f"{root}/voice/gather?s={token}", f"{root}/voice/dial?s={token}")
        assert renderer.render(step, root, token) == scratch


def test_lang_preselection_over_the_wire(engine: Engine) -> None:
    app = make_app(TWILIO_AUTH_TOKEN=None, ALLOW_UNSIGNED=True)
    wired = list(play(WireLine(wsgi_transport(app), engine.menu), parse_script("5"), "ko"))
    direct = list(play(EngineLine(engine, WEEKDAY_MORNING), parse_script("5"), "ko"))
    assert transcript(wired) == transcript(direct)


def test_night_time_over_the_wire_uses_the_clock(engine: Engine) -> None:
    night = jst(2026, 12, 6, 23, 0)
    app = make_app(night, TWILIO_AUTH_TOKEN=None, ALLOW_UNSIGNED=True)
    wired = list(play(WireLine(wsgi_transport(app), engine.menu), parse_script("2 1")))
    assert any("Staff are not available" in str(e.get("text")) for e in wired)


def test_a_fault_restarts_the_call_in_its_language_at_most_twice(twilio: Twilio,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug on this path")

    root = twilio.twiml("/voice?lang=en")
    monkeypatch.setattr("ivr.engine.Engine.step", broken)
    tags = []
    for _ in range(3):
        root = twilio.twiml(action_of(root), Digits="1")
        tags.append([v.tag for v in root])
        if root.find("Redirect") is not None:
            restart = root.find("Redirect").text or ""  # type: ignore[union-attr]
            assert re.fullmatch(r"/voice\?restarts=[12]&lang=en", restart)
            root = twilio.twiml(restart)
            assert (root[0][0].text or "").startswith("If your My Number Card is lost")  # English again
    assert tags == [["Say", "Redirect"], ["Say", "Redirect"], ["Say", "Hangup"]]


@pytest.mark.parametrize("base", ["http://localhost", "http://localhost/", "http://localhost/voice"])
def test_the_simulator_signs_the_url_it_posts_to(engine: Engine, base: str) -> None:
    """`ivr sim --url` takes the base URL or the /voice URL `ivr serve` prints: either way each
    request is signed for the URL it is sent to, and the service takes it."""
    app = make_app(WEEKDAY_MORNING)
    line = WireLine(signed(wsgi_transport(app), TOKEN, base), engine.menu)
    events = list(play(line, parse_script("2 1")))
    assert events[-1]["type"] == "transfer" and events[-1]["to"] == "+81120950178"


def test_the_protocol_in_process_takes_the_time_asked_for(engine: Engine) -> None:
    night = jst(2026, 12, 6, 23, 0)
    voice = Voice.local(MENU_PATH, lambda: WEEKDAY_MORNING)
    wired = list(play(WireLine(at_time(voice_transport(voice), night), engine.menu), parse_script("2 1")))
    assert any("Staff are not available" in str(e.get("text")) for e in wired)
