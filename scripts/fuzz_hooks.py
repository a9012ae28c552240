"""Schemathesis hooks for scripts/api-fuzz.sh: how each pass authenticates.

FUZZ_AUTH=signed  every request signed as a signing HIS client would
                  (docs/security.md): the key id as the bearer token, a
                  timestamp on the server's clock, a fresh nonce, the
                  HMAC-SHA256 over method, path with query, timestamp,
                  nonce, acting staff and the body's digest.
FUZZ_AUTH=staff   a staff session (cookie and CSRF token) of the fuzzing
                  administrator, logged in again whenever the run itself
                  ended it (a fuzzed logout, a password change), so the
                  run survives fuzzing /session and its own account.

The server runs on a named instant (TRIAGE_CLOCK); the signer counts from
it with the monotonic clock (FUZZ_CLOCK_EPOCH at FUZZ_CLOCK_MONOTONIC),
never the host's wall clock.
"""

import hashlib
import hmac
import json
import os
import secrets
import time
import urllib.request

import requests
import schemathesis

MODE = os.environ.get("FUZZ_AUTH", "")
BASE = os.environ.get("FUZZ_BASE", "")


def server_now():
    """Unix seconds on the server's clock."""
    epoch = float(os.environ["FUZZ_CLOCK_EPOCH"])
    started = float(os.environ["FUZZ_CLOCK_MONOTONIC"])
    return epoch + (time.monotonic() - started)


# The credentials the run sends (-H on the command line): a request that
# still carries them is signed or gets the live session; one whose
# credentials Schemathesis removed or spoiled (its ignored_auth check)
# goes as it is, and must be refused.
SIGNED_PLACEHOLDER = "Bearer signed-by-the-hook"
SESSION_PLACEHOLDER = "triage_session=set-by-the-hook"


class Signer(requests.auth.AuthBase):
    """Signs a request with the signing client's key."""

    def __init__(self, key, only_placeholder=False):
        self.key = key
        self.only_placeholder = only_placeholder

    def __call__(self, r):
        if self.only_placeholder and r.headers.get("Authorization") != SIGNED_PLACEHOLDER:
            return r
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        ts, nonce = str(int(server_now())), secrets.token_hex(12)
        acting = r.headers.get("X-Acting-Staff", "")
        text = "\n".join([r.method, r.path_url, ts, nonce, acting, hashlib.sha256(body).hexdigest()])
        signing_key = hashlib.sha256(self.key.encode()).hexdigest()
        r.headers["Authorization"] = "Bearer " + "_".join(self.key.split("_")[:2])
        r.headers["X-Triage-Timestamp"] = ts
        r.headers["X-Triage-Nonce"] = nonce
        r.headers["X-Triage-Signature"] = hmac.new(
            signing_key.encode(), text.encode(), hashlib.sha256
        ).hexdigest()
        return r


class Session:
    """The fuzzing administrator's session."""

    cookie = None
    csrf = None

    @classmethod
    def login(cls):
        req = urllib.request.Request(
            BASE + "/api/v1/session",
            method="POST",
            data=json.dumps(
                {"code": os.environ["FUZZ_ADMIN"], "password": os.environ["FUZZ_ADMIN_PASSWORD"]}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            cls.cookie = r.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
            cls.csrf = json.load(r)["csrf_token"]


class StaffAuth(requests.auth.AuthBase):
    """The live session in place of the placeholder cookie."""

    def __call__(self, r):
        pairs = [p.strip() for p in r.headers.get("Cookie", "").split(";") if p.strip()]
        if SESSION_PLACEHOLDER not in pairs:
            return r
        if Session.cookie is None:
            Session.login()
        # Only the live session (a value Schemathesis generated for the
        # cookie too would be read instead).
        kept = [p for p in pairs if not p.startswith("triage_session=")]
        r.headers["Cookie"] = "; ".join(kept + ["triage_session=" + Session.cookie])
        r.headers["X-CSRF-Token"] = Session.csrf
        # A staff page sends no API key: one Schemathesis generated for
        # the document's other scheme would be read first.
        r.headers.pop("Authorization", None)
        return r


@schemathesis.hook
def before_call(context, case, kwargs):
    if MODE == "signed":
        # Replaces the Authorization header with the key id and signs.
        kwargs["auth"] = Signer(os.environ["FUZZ_SIGNED_KEY"], only_placeholder=True)
    elif MODE == "staff":
        kwargs["auth"] = StaffAuth()


@schemathesis.hook
def after_call(context, case, response):
    # A call to /session may end the session (a logout, a new password):
    # the next call logs in again first.
    if MODE == "staff" and case.path.startswith("/api/v1/session"):
        Session.cookie = None
