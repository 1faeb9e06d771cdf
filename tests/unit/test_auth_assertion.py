"""The console's clerk assertion is refused for another audience, another issuer, a
lifetime past the cap, a missing claim, and a clerk name no audit trail should hold."""

from __future__ import annotations

import time

import jwt
import pytest

from shared.auth import assertion

PRIVATE, PUBLIC = assertion.new_keypair()
KEY = assertion.load_private_key(PRIVATE)
KEYS = assertion.load_public_keys([PUBLIC.decode()])


def forge(**claims: object) -> str:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": assertion.ISSUER,
        "aud": assertion.AUDIENCE,
        "sub": "anna",
        "iat": now,
        "exp": now + 60,
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, KEY, algorithm="EdDSA")


def test_a_well_formed_assertion_names_the_clerk_and_without_scope_narrows_nothing() -> None:
    assert assertion.verify(forge(), KEYS) == assertion.Clerk("anna", None)


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "another-application"},
        {"iss": "someone-else"},
        {"exp": int(time.time()) + 3600},  # valid for an hour: past the 300 s cap
        {"exp": int(time.time()) - 120},  # expired (past the leeway)
        {"exp": None},
        {"iat": None},
        {"sub": None},
        {"sub": ""},
        {"sub": "anna\nadmin"},
        {"sub": "x" * 101},
    ],
    ids=["audience", "issuer", "too-long", "expired", "no-exp", "no-iat", "no-sub", "empty-sub", "newline", "long"],
)
def test_refused(claims: dict[str, object]) -> None:
    with pytest.raises(assertion.AssertionRefused):
        assertion.verify(forge(**claims), KEYS)


def test_an_hmac_token_made_with_the_public_key_is_refused() -> None:
    now = int(time.time())
    claims = {"iss": assertion.ISSUER, "aud": assertion.AUDIENCE, "sub": "anna", "iat": now, "exp": now + 60}
    forged = jwt.api_jws.PyJWS().encode(
        jwt.utils.force_bytes(__import__("json").dumps(claims)), key=b"x" * 32, algorithm="HS256"
    )
    with pytest.raises(assertion.AssertionRefused):
        assertion.verify(forged, KEYS)


def test_no_configured_key_refuses_every_assertion() -> None:
    with pytest.raises(assertion.AssertionRefused, match="no actor-assertion key"):
        assertion.verify(forge(), [])
