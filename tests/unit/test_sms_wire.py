"""Twilio's incoming-message form in, TwiML out."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from channels.sms.wire import MalformedSms, parse_inbound, twiml

SID = "SM" + "a1" * 16
FORM = {
    "MessageSid": SID,
    "SmsMessageSid": SID,
    "AccountSid": "AC" + "0" * 32,
    "MessagingServiceSid": "MG" + "1" * 32,
    "From": "+821012345678",
    "To": "+827012345678",
    "Body": "등본 떼려면요",
    "NumMedia": "2",
    "MediaContentType0": "image/jpeg",
    "MediaUrl0": "https://api.twilio.com/media/0",
    "MediaContentType1": "image/png",
    "MediaUrl1": "https://api.twilio.com/media/1",
    "NumSegments": "1",
    "FromCountry": "KR",
    "ApiVersion": "2010-04-01",
}


def test_parse_a_full_form() -> None:
    sms = parse_inbound(FORM)
    assert (sms.message_sid, sms.from_number, sms.to_number, sms.body) == (
        SID,
        "+821012345678",
        "+827012345678",
        "등본 떼려면요",
    )
    assert sms.num_media == 2 and sms.media[1].content_type == "image/png"
    assert sms.num_segments == 1 and sms.from_country == "KR" and sms.opt_out_type is None


def test_minimal_form_and_empty_body() -> None:
    sms = parse_inbound({"MessageSid": SID, "From": "+821012345678", "Body": ""})
    assert sms.body == "" and sms.num_media == 0 and sms.to_number == ""


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"MessageSid": ""}, "MessageSid"),
        ({"MessageSid": "SM123"}, "MessageSid"),
        ({"From": ""}, "From"),
        ({"From": "+" + "1" * 80}, "From"),
        ({"NumMedia": "many"}, "NumMedia"),
        ({"NumMedia": "11"}, "NumMedia"),
        ({"AccountSid": "ACnothex"}, "AccountSid"),
    ],
)
def test_malformed_forms_name_the_field_not_the_body(changes: dict[str, str], field: str) -> None:
    with pytest.raises(MalformedSms) as raised:
        parse_inbound({**FORM, **changes})
    assert field in raised.value.fields
    assert "등본" not in str(raised.value)


def test_missing_fields_are_malformed() -> None:
    form = {k: v for k, v in FORM.items() if k not in ("From", "MessageSid")}
    with pytest.raises(MalformedSms) as raised:
        parse_inbound(form)
    assert set(raised.value.fields) == {"From", "MessageSid"}


def test_twiml_one_message_per_sms_and_empty_response() -> None:
    empty = ET.fromstring(twiml([]))
    assert empty.tag == "Response" and list(empty) == []
    root = ET.fromstring(twiml(["a < b & c", "둘째"]))
    assert [m.tag for m in root] == ["Message", "Message"]
    assert [m.text for m in root] == ["a < b & c", "둘째"]
