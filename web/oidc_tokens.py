"""The ID token's checks: signature with the provider's published keys (asymmetric
algorithms only), issuer, audience and authorized party, expiry and issue time, nonce and
``at_hash``."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, cast

from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from web.oidc_settings import ASYMMETRIC, LEEWAY_SECONDS


class SignOnFailed(Exception):
    """The provider's answer cannot be trusted or used; the message (for the audit trail and
    the log) says why, never with a token in it."""


def validate_id_token(
    id_token: str,
    keys: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: tuple[str, ...] = ("RS256",),
    access_token: str | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """The ID token's claims, once its signature (with one of ``keys``, a JWK set) and its
    claims hold. Raises :class:`SignOnFailed`, or joserfc's InvalidKeyIdError when no key
    has the token's key id (the caller reads the keys again once: they may have rotated)."""
    allowed = tuple(a for a in algorithms if a in ASYMMETRIC) or ("RS256",)
    try:
        key_set = KeySet.import_key_set(cast(Any, dict(keys)))
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise SignOnFailed(f"the provider's keys cannot be read ({type(error).__name__})") from None
    try:
        token = jwt.decode(id_token, key_set, algorithms=list(allowed))
    except InvalidKeyIdError:
        raise
    except (JoseError, ValueError, TypeError) as error:
        raise SignOnFailed(f"ID token refused: {type(error).__name__}") from None
    claims = CodeIDToken(
        token.claims,
        token.header,
        {
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True},
        },
        {"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    try:
        claims.validate(now=now, leeway=LEEWAY_SECONDS)
    except JoseError as error:
        raise SignOnFailed(f"ID token refused: {error.description or error.error}") from None
    found: dict[str, Any] = dict(claims)
    # The checks that matter most, once more in plain sight.
    audience = found.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if found.get("iss") != issuer or client_id not in audiences:
        raise SignOnFailed("ID token refused: issuer or audience")
    if not hmac.compare_digest(str(found.get("nonce", "")), nonce):
        raise SignOnFailed("ID token refused: nonce")
    subject = found.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise SignOnFailed("ID token refused: subject")
    return found
