"""CSRF protection: a random token kept in the signed session, repeated in every form.

A post whose token is missing or differs from the session's is refused before anything else
happens. The token changes at sign-in, so one planted before sign-in is worthless after it.
"""

from __future__ import annotations

import hmac
import secrets

FIELD = "csrf_token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def valid(expected: str | None, submitted: object) -> bool:
    if not expected or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())
