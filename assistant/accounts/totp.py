"""One-time codes (TOTP, RFC 6238, via ``pyotp``) as an optional second factor for console
accounts (review M5): recommended for admins, open to every account.

The database holds only a random enrolment nonce per account; the secret an
authenticator app holds is derived from it with the gateway's key (SOTONG_SECRET_KEY,
HMAC-SHA256 under a purpose label). A copy of the database therefore cannot make codes,
and changing the key ends every enrolment (each account enrols again). A code counts for
its 30-second step and the one before or after (clock drift), and only once: the store
keeps the newest step used.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

import pyotp

ISSUER = "Sotong"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code of the previous or next step still counts
CODE_DIGITS = 6


class TotpKeys:
    """Derives each enrolment's secret and checks codes against it."""

    def __init__(self, signing_key: bytes) -> None:
        self._key = hmac.new(signing_key, b"console-totp", hashlib.sha256).digest()

    @staticmethod
    def new_nonce() -> str:
        """A fresh enrolment nonce (stored in the account's row)."""
        return secrets.token_hex(16)

    def secret(self, username: str, nonce: str) -> str:
        """The base32 secret of ``username``'s enrolment ``nonce`` (160 bits, RFC 4226)."""
        digest = hmac.new(self._key, f"{username}\0{nonce}".encode(), hashlib.sha256).digest()[:20]
        return base64.b32encode(digest).decode("ascii")

    def provisioning_uri(self, username: str, nonce: str) -> str:
        """The ``otpauth://`` URI an authenticator app reads (as a QR code or typed)."""
        return pyotp.TOTP(self.secret(username, nonce), interval=STEP_SECONDS).provisioning_uri(
            name=username, issuer_name=ISSUER
        )

    def matching_step(self, username: str, nonce: str, code: str, now: dt.datetime) -> int | None:
        """The time step ``code`` belongs to (within the drift allowed), or None."""
        code = code.strip().replace(" ", "")
        if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
            return None
        totp = pyotp.TOTP(self.secret(username, nonce), interval=STEP_SECONDS)
        current = int(now.timestamp()) // STEP_SECONDS
        for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
            if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
                return step
        return None
