"""The signature check: what Twilio's validator accepts, computed once for the URL as sent and
once more only when Twilio may have signed it with the port written out or left out."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from ivr.signatures import Signatures, TwilioParams

TOKEN = "12345678901234567890123456789012"
PARAMS = TwilioParams({"CallSid": "CA1", "Digits": "2", "From": "+819000000000", "Blank": ""})


def headers(signature: str, settings: str | None = None) -> dict[str, str]:
    out = {"X-Twilio-Signature": signature}
    if settings:
        out["X-Twilio-Webhooks-Signature-Settings"] = settings
    return out


def sign(url: str, key: str = TOKEN, algorithm: str = "HMAC_SHA1") -> str:
    return RequestValidator(key).compute_signature(url, dict(PARAMS), algorithm)


@pytest.mark.parametrize(("signed_for", "sent_to"), [
    ("https://ivr.example.jp/voice?s=a.b", "https://ivr.example.jp/voice?s=a.b"),
    ("https://ivr.example.jp:443/voice?s=a.b", "https://ivr.example.jp/voice?s=a.b"),
    ("https://ivr.example.jp/voice?s=a.b", "https://ivr.example.jp:443/voice?s=a.b"),
    ("http://127.0.0.1/voice", "http://127.0.0.1:8000/voice"),  # as RequestValidator.validate has it
])
def test_what_twilios_validator_accepts_is_accepted(signed_for: str, sent_to: str) -> None:
    signature = sign(signed_for)
    assert RequestValidator(TOKEN).validate(sent_to, dict(PARAMS), signature)
    assert Signatures(TOKEN, None).valid(sent_to, PARAMS, headers(signature))


@pytest.mark.parametrize("signature", ["", "x" * 28, sign("https://ivr.example.jp/other"), "ü" * 28, "\udcff"])
def test_a_wrong_or_odd_signature_is_refused(signature: str) -> None:
    assert not Signatures(TOKEN, None).valid("https://ivr.example.jp/voice", PARAMS, headers(signature))


def test_a_changed_parameter_or_a_port_that_is_no_number_is_refused() -> None:
    url = "https://ivr.example.jp/voice"
    changed = TwilioParams({**PARAMS, "Digits": "3"})
    assert not Signatures(TOKEN, None).valid(url, changed, headers(sign(url)))
    assert not Signatures(TOKEN, None).valid("https://ivr.example.jp:x/voice", PARAMS, headers(sign(url)))


def test_a_shared_key_signs_with_the_algorithm_it_names_and_the_token_still_counts() -> None:
    url, shared = "https://ivr.example.jp/voice", "a-shared-secret"
    both = Signatures(TOKEN, shared)
    settings = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    assert both.valid(url, PARAMS, headers(sign(url, shared, "HMAC_SHA256"), settings))
    assert both.valid(url, PARAMS, headers(sign(url, TOKEN, "HMAC_SHA256"), settings))
    assert not both.valid(url, PARAMS, headers(sign(url, shared, "HMAC_SHA1"), settings))
    assert not both.valid(url, PARAMS, headers(sign(url, shared), "key=k,algorithm=HMAC_MD5"))
