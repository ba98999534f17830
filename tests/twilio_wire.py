"""What Twilio sends: the Messaging webhook's form and its signature (tests and benches)."""

from __future__ import annotations

import secrets

from twilio.request_validator import RequestValidator

from tests.stackutil import PUBLIC_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_PHONE_NUMBER

SMS_PATH = "/webhooks/twilio/sms"


def sms_form(phone: str, body: str, sid: str | None = None) -> dict[str, str]:
    """The fields Twilio POSTs for an SMS from ``phone`` to the test stack's number."""
    sid = sid or "SM" + secrets.token_hex(16)
    return {
        "ToCountry": "KR",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "FromCountry": "KR",
        "To": TWILIO_PHONE_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": TWILIO_ACCOUNT_SID,
        "From": phone,
        "ApiVersion": "2010-04-01",
    }


def signed(
    form: dict[str, str], token: str = TWILIO_AUTH_TOKEN, path: str = SMS_PATH
) -> dict[str, str]:
    """The ``X-Twilio-Signature`` header Twilio would send with ``form``."""
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, form)
    return {"X-Twilio-Signature": signature}


VOICE_PATH = "/webhooks/twilio/voice"


def call_form(caller: str, call_sid: str | None = None) -> dict[str, str]:
    """The fields Twilio POSTs when ``caller`` rings the test stack's number."""
    return {
        "AccountSid": TWILIO_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid or "CA" + secrets.token_hex(16),
        "CallStatus": "ringing",
        "Called": TWILIO_PHONE_NUMBER,
        "Caller": caller,
        "Direction": "inbound",
        "From": caller,
        "FromCountry": "KR",
        "To": TWILIO_PHONE_NUMBER,
        "ToCountry": "KR",
    }
