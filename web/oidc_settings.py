"""Single sign-on's settings, read from the environment (single sign-on is on when
``ICPC_OIDC_ISSUER`` is set).

ICPC_OIDC_ISSUER              the provider's issuer, exactly as its discovery document says
                              (Entra: https://login.microsoftonline.com/<tenant id>/v2.0).
ICPC_OIDC_DISCOVERY_URL       its discovery document (<issuer>/.well-known/openid-configuration).
ICPC_OIDC_CLIENT_ID           this form's client (application) id at the provider.
ICPC_OIDC_CLIENT_SECRET_FILE  a file holding the client secret (preferred), or
ICPC_OIDC_CLIENT_SECRET       the secret itself. Neither: a public client (PKCE only).
ICPC_OIDC_TOKEN_AUTH          client_secret_basic (default) or client_secret_post.
ICPC_OIDC_REDIRECT_URL        https://<this form>/sign-in/oidc/callback, as registered.
ICPC_OIDC_POST_LOGOUT_REDIRECT_URL  where the provider sends people after signing out
                              (https://<this form>/sign-in, from the redirect URL).
ICPC_OIDC_SCOPES              openid profile email
ICPC_OIDC_ORGANISATION        the name on the button: "Sign in with <organisation>".
ICPC_OIDC_MATCH_CLAIM         the claim a first sign-in is matched by (preferred_username),
ICPC_OIDC_MATCH_TO            to the person's sign-in id (id, the default) or their email.
ICPC_OIDC_ACCESS              people (default): roles, teams and areas from the people table;
                              claims: from the token's claims, below.
ICPC_OIDC_ROLES_CLAIM         roles (Entra's app roles); groups works too, with
ICPC_OIDC_ROLE_MAP            value=role_id pairs, comma-separated (a group's object id to a role).
ICPC_OIDC_TEAMS_CLAIM, ICPC_OIDC_AREAS_CLAIM   claims holding team and area ids (unset: the
                              people table's, even with claims).
ICPC_OIDC_HIDE_LOCAL_SIGNIN   1: the sign-in page offers single sign-on only.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from domain.people import ROLE_ID

START_PATH = "/sign-in/oidc"
CALLBACK_PATH = "/sign-in/oidc/callback"
FLOW_KEY = "oidc"  # in the pre-sign-in cookie: the flow under way
ID_TOKEN_KEY = "oidc_id_token"  # in the server-side session: for the logout hint
FLOW_SECONDS = 15 * 60  # a sign-in at the provider must come back within this
METADATA_SECONDS = 3600  # the discovery document and keys are read again after this
LEEWAY_SECONDS = 60  # clock skew allowed on exp, iat and nbf
# Signatures with the provider's published public keys only: never "none", never a shared secret.
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
ERROR_CODE = re.compile(r"^[a-z_]{1,60}$")


class MatchTo(StrEnum):
    ID = "id"
    EMAIL = "email"


class Access(StrEnum):
    PEOPLE = "people"  # roles, teams and areas from the people table
    CLAIMS = "claims"  # from the token's claims, written to the people table


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    redirect_url: str
    client_secret: str | None = field(default=None, repr=False)
    token_auth: str = "client_secret_basic"
    discovery_url: str = ""  # "" -> <issuer>/.well-known/openid-configuration
    post_logout_redirect_url: str = ""  # "" -> the redirect URL's origin + /sign-in
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    organisation: str = "your organisation"
    match_claim: str = "preferred_username"
    match_to: MatchTo = MatchTo.ID
    access: Access = Access.PEOPLE
    roles_claim: str = "roles"
    role_map: tuple[tuple[str, str], ...] = ()  # claim value -> role id
    teams_claim: str = ""  # "" -> the people table's
    areas_claim: str = ""
    hide_local_signin: bool = False

    @property
    def discovery(self) -> str:
        return self.discovery_url or (self.issuer.rstrip("/") + "/.well-known/openid-configuration")

    @property
    def post_logout(self) -> str:
        if self.post_logout_redirect_url:
            return self.post_logout_redirect_url
        parts = urlsplit(self.redirect_url)
        return f"{parts.scheme}://{parts.netloc}/sign-in"


def _loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def acceptable_url(url: str) -> bool:
    """HTTPS, or plain HTTP to this machine only (a provider run for development or tests)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.netloc or parts.username or parts.password:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _loopback_host(parts.hostname))


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _role_map(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        value, sep, role = item.partition("=")
        if not sep or not value or not ROLE_ID.match(role):
            raise ValueError(
                "ICPC_OIDC_ROLE_MAP is value=role_id pairs separated by commas"
                f" (such as 0a1b...=team_manager); '{item}' is not one"
            )
        pairs.append((value, role))
    return tuple(pairs)


def load_oidc_settings(env: Mapping[str, str]) -> OidcSettings | None:
    """The single sign-on settings, or None when ``ICPC_OIDC_ISSUER`` is unset. A setting the
    form cannot use is a ValueError naming it."""
    issuer = (env.get("ICPC_OIDC_ISSUER") or "").strip()
    if not issuer:
        return None

    def text(name: str, default: str = "") -> str:
        return (env.get(name) or "").strip() or default

    if not acceptable_url(issuer):
        raise ValueError("ICPC_OIDC_ISSUER must be an https:// address (http:// on loopback only)")
    client_id = text("ICPC_OIDC_CLIENT_ID")
    if not client_id:
        raise ValueError("ICPC_OIDC_CLIENT_ID is needed with ICPC_OIDC_ISSUER")
    redirect = text("ICPC_OIDC_REDIRECT_URL")
    if not redirect or not acceptable_url(redirect) or urlsplit(redirect).path != CALLBACK_PATH:
        raise ValueError(
            "ICPC_OIDC_REDIRECT_URL must be this form's https://<host>"
            f"{CALLBACK_PATH}, as registered with the identity provider"
        )
    secret: str | None = None
    secret_file = text("ICPC_OIDC_CLIENT_SECRET_FILE")
    if secret_file:
        try:
            secret = Path(secret_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ValueError(
                f"ICPC_OIDC_CLIENT_SECRET_FILE cannot be read: {error.strerror}"
            ) from None
        if not secret:
            raise ValueError("ICPC_OIDC_CLIENT_SECRET_FILE is empty")
    else:
        secret = text("ICPC_OIDC_CLIENT_SECRET") or None
    token_auth = text("ICPC_OIDC_TOKEN_AUTH", "client_secret_basic" if secret else "none")
    if token_auth not in ("client_secret_basic", "client_secret_post", "none"):
        raise ValueError("ICPC_OIDC_TOKEN_AUTH is client_secret_basic or client_secret_post")
    if token_auth != "none" and not secret:
        raise ValueError(f"ICPC_OIDC_TOKEN_AUTH={token_auth} needs ICPC_OIDC_CLIENT_SECRET_FILE")
    discovery = text("ICPC_OIDC_DISCOVERY_URL")
    if discovery and not acceptable_url(discovery):
        raise ValueError("ICPC_OIDC_DISCOVERY_URL must be an https:// address")
    post_logout = text("ICPC_OIDC_POST_LOGOUT_REDIRECT_URL")
    if post_logout and not acceptable_url(post_logout):
        raise ValueError("ICPC_OIDC_POST_LOGOUT_REDIRECT_URL must be an https:// address")
    scopes = tuple(text("ICPC_OIDC_SCOPES", "openid profile email").split())
    if "openid" not in scopes:
        raise ValueError("ICPC_OIDC_SCOPES must include openid")
    try:
        match_to = MatchTo(text("ICPC_OIDC_MATCH_TO", MatchTo.ID.value).lower())
    except ValueError:
        raise ValueError("ICPC_OIDC_MATCH_TO is id or email") from None
    try:
        access = Access(text("ICPC_OIDC_ACCESS", Access.PEOPLE.value).lower())
    except ValueError:
        raise ValueError("ICPC_OIDC_ACCESS is people or claims") from None
    return OidcSettings(
        issuer=issuer,
        client_id=client_id,
        redirect_url=redirect,
        client_secret=secret,
        token_auth=token_auth,
        discovery_url=discovery,
        post_logout_redirect_url=post_logout,
        scopes=scopes,
        organisation=text("ICPC_OIDC_ORGANISATION", "your organisation")[:100],
        match_claim=text("ICPC_OIDC_MATCH_CLAIM", "preferred_username"),
        match_to=match_to,
        access=access,
        roles_claim=text("ICPC_OIDC_ROLES_CLAIM", "roles"),
        role_map=_role_map(text("ICPC_OIDC_ROLE_MAP")),
        teams_claim=text("ICPC_OIDC_TEAMS_CLAIM"),
        areas_claim=text("ICPC_OIDC_AREAS_CLAIM"),
        hide_local_signin=_flag(env.get("ICPC_OIDC_HIDE_LOCAL_SIGNIN")),
    )
