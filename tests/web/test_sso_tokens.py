"""The ID token checks of single sign-on (web.oidc_tokens.validate_id_token) one by one, with keys made
here: a forged signature, another issuer or audience, an expired token, a wrong or missing nonce,
an unsigned token, a shared-secret signature. And the settings a council sets, each refused in
one line when it cannot be used.

The end-to-end tests against a real provider are in test_sso.py.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet, OctKey, RSAKey

from web.oidc_people import claim_values
from web.oidc_settings import Access, MatchTo, load_oidc_settings
from web.oidc_tokens import SignOnFailed, validate_id_token
from web.settings import load_settings

ISSUER = "https://login.example.org/tenant-1/v2.0"
CLIENT = "icpc-client"
NONCE = "n-0123456789abcdefghijklmnopqrstuv"

KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1"})  # same kid, other key
PUBLISHED = KeySet([KEY]).as_dict(private=False)


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    found: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "subject-1",
        "aud": CLIENT,
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
        "preferred_username": "nia.patel@council.example",
    }
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}


def signed(payload: dict[str, Any], key: Any = KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "key-1"}, payload, key)


def check(token: str, keys: Any = PUBLISHED, nonce: str = NONCE) -> dict[str, Any]:
    return validate_id_token(token, keys, issuer=ISSUER, client_id=CLIENT, nonce=nonce)


def test_a_good_token_gives_its_claims() -> None:
    found = check(signed(claims()))
    assert found["sub"] == "subject-1"
    assert found["preferred_username"] == "nia.patel@council.example"
    # Several audiences, this client among them, with azp naming it: accepted.
    assert check(signed(claims(aud=[CLIENT, "another-api"], azp=CLIENT)))["sub"] == "subject-1"


# Each token is made when its test runs (a lambda), not when the tests are collected: in a long
# suite a token made at collection would have expired before its test is reached.
@pytest.mark.parametrize(
    ("what", "make", "reason"),
    [
        ("another key", lambda: signed(claims(), OTHER_KEY), "BadSignatureError"),
        ("another issuer", lambda: signed(claims(iss="https://evil.example.org")), "'iss'"),
        ("another audience", lambda: signed(claims(aud="someone-else")), "'aud'"),
        ("azp of another", lambda: signed(claims(aud=[CLIENT, "x"], azp="x")), "'azp'"),
        ("expired", lambda: signed(claims(exp=int(time.time()) - 120)), "expired"),
        ("issued in the future", lambda: signed(claims(iat=int(time.time()) + 600)), "future"),
        ("another nonce", lambda: signed(claims(nonce="n-other")), "'nonce'"),
        ("no nonce", lambda: signed(claims(nonce=None)), "'nonce'"),
        ("no subject", lambda: signed(claims(sub=None)), "'sub'"),
        ("no expiry", lambda: signed(claims(exp=None)), "'exp'"),
    ],
)
def test_a_token_that_does_not_hold_is_refused(
    what: str, make: Callable[[], str], reason: str
) -> None:
    with pytest.raises(SignOnFailed) as refused:
        check(make())
    assert reason in str(refused.value), what


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_an_unsigned_token_or_a_shared_secret_signature_is_refused() -> None:
    unsigned = f"{b64({'alg': 'none', 'kid': 'key-1'})}.{b64(claims())}."
    with pytest.raises(SignOnFailed):
        check(unsigned)
    # HS256 keyed with the public key's bytes (the old algorithm-confusion attack) or any
    # shared secret: only asymmetric algorithms are ever allowed.
    secret = OctKey.import_key("a-shared-secret-of-32-bytes-long!")
    hs = signed(claims(), secret, "HS256")
    with pytest.raises(SignOnFailed):
        check(hs, KeySet([secret]).as_dict(private=True))
    with pytest.raises(SignOnFailed):
        validate_id_token(
            hs,
            KeySet([secret]).as_dict(private=True),
            issuer=ISSUER,
            client_id=CLIENT,
            nonce=NONCE,
            algorithms=("HS256",),  # even when a provider advertises it
        )


def test_an_unknown_key_id_asks_for_the_keys_again() -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "key-2"})
    token = jwt.encode({"alg": "RS256", "kid": "key-2"}, claims(), other)
    with pytest.raises(InvalidKeyIdError):
        check(token)
    assert check(token, KeySet([KEY, other]).as_dict(private=False))["sub"] == "subject-1"


def test_claim_values_reads_lists_and_separated_strings() -> None:
    found = {"roles": ["team_manager", " ", 3], "teams": "north-1, north-2 south-1"}
    assert claim_values(found, "roles") == ["team_manager"]
    assert claim_values(found, "teams") == ["north-1", "north-2", "south-1"]
    assert claim_values(found, "areas") == []


# --- settings ---------------------------------------------------------------------------------

ENTRA = {
    "ICPC_OIDC_ISSUER": "https://login.microsoftonline.com/0000-tenant/v2.0",
    "ICPC_OIDC_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "ICPC_OIDC_CLIENT_SECRET": "not-a-real-secret",
    "ICPC_OIDC_REDIRECT_URL": "https://icpc.council.example/sign-in/oidc/callback",
}


def test_no_issuer_no_single_sign_on() -> None:
    assert load_oidc_settings({}) is None


def test_the_entra_settings_and_their_defaults() -> None:
    found = load_oidc_settings(ENTRA)
    assert found is not None
    assert found.discovery == (
        "https://login.microsoftonline.com/0000-tenant/v2.0/.well-known/openid-configuration"
    )
    assert found.post_logout == "https://icpc.council.example/sign-in"
    assert found.scopes == ("openid", "profile", "email")
    assert found.token_auth == "client_secret_basic"
    assert (found.match_claim, found.match_to, found.access) == (
        "preferred_username",
        MatchTo.ID,
        Access.PEOPLE,
    )
    assert "not-a-real-secret" not in repr(found)


def test_the_secret_from_a_file_and_roles_from_groups(tmp_path: Path) -> None:
    secret = tmp_path / "client-secret"
    secret.write_text("from-a-file\n")
    env = {k: v for k, v in ENTRA.items() if k != "ICPC_OIDC_CLIENT_SECRET"}
    found = load_oidc_settings(
        {
            **env,
            "ICPC_OIDC_CLIENT_SECRET_FILE": str(secret),
            "ICPC_OIDC_ACCESS": "claims",
            "ICPC_OIDC_ROLES_CLAIM": "groups",
            "ICPC_OIDC_ROLE_MAP": "aaaa-1=team_manager, bbbb-2=area_head_of_service",
            "ICPC_OIDC_HIDE_LOCAL_SIGNIN": "1",
            "ICPC_OIDC_ORGANISATION": "Example Council",
        }
    )
    assert found is not None and found.client_secret == "from-a-file"
    assert found.access is Access.CLAIMS and found.roles_claim == "groups"
    assert found.role_map == (("aaaa-1", "team_manager"), ("bbbb-2", "area_head_of_service"))
    assert found.hide_local_signin and found.organisation == "Example Council"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ICPC_OIDC_ISSUER": "http://login.example.org/"}, "ICPC_OIDC_ISSUER must be an https"),
        ({"ICPC_OIDC_CLIENT_ID": ""}, "ICPC_OIDC_CLIENT_ID is needed"),
        ({"ICPC_OIDC_REDIRECT_URL": "https://icpc.example/callback"}, "ICPC_OIDC_REDIRECT_URL"),
        ({"ICPC_OIDC_CLIENT_SECRET_FILE": "/no/such/file"}, "cannot be read"),
        ({"ICPC_OIDC_SCOPES": "profile email"}, "must include openid"),
        ({"ICPC_OIDC_MATCH_TO": "name"}, "ICPC_OIDC_MATCH_TO is id or email"),
        ({"ICPC_OIDC_ACCESS": "header"}, "ICPC_OIDC_ACCESS is people or claims"),
        ({"ICPC_OIDC_ROLE_MAP": "abc"}, "ICPC_OIDC_ROLE_MAP is value=role_id pairs"),
        ({"ICPC_OIDC_TOKEN_AUTH": "private_key_jwt"}, "ICPC_OIDC_TOKEN_AUTH"),
    ],
)
def test_a_setting_the_form_cannot_use_is_named(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_oidc_settings({**ENTRA, **changes})


def test_loopback_http_is_allowed_for_a_provider_on_this_machine() -> None:
    found = load_oidc_settings(
        {
            **ENTRA,
            "ICPC_OIDC_ISSUER": "http://127.0.0.1:9400",
            "ICPC_OIDC_REDIRECT_URL": "http://127.0.0.1:8000/sign-in/oidc/callback",
        }
    )
    assert found is not None and found.post_logout == "http://127.0.0.1:8000/sign-in"


def test_single_sign_on_and_proxy_headers_exclude_each_other() -> None:
    env = {**ENTRA, "ICPC_WEB_SECRET": "s" * 40, "ICPC_TRUST_PROXY_HEADERS": "1"}
    with pytest.raises(ValueError, match="exclude each other"):
        load_settings(env)
    settings = load_settings({**env, "ICPC_TRUST_PROXY_HEADERS": "0"})
    assert settings.oidc is not None and settings.oidc.client_id == ENTRA["ICPC_OIDC_CLIENT_ID"]
