"""This form as a relying party of one OpenID Connect provider: discovery, keys, the
authorization URL, the code exchange and the logout URL."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
from authlib.oauth2.rfc6749.parameters import (  # type: ignore[import-untyped]
    prepare_grant_uri,
)
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from joserfc.errors import InvalidKeyIdError

from web.oidc_settings import (
    ERROR_CODE,
    METADATA_SECONDS,
    OidcSettings,
    acceptable_url,
)
from web.oidc_tokens import SignOnFailed, validate_id_token

log = logging.getLogger(__name__)


@dataclass
class _Cached:
    value: dict[str, Any]
    at: float


class OidcClient:
    """This form as a relying party of one provider: its discovery document and keys (read on
    first use, then hourly), the authorization URL, the code exchange, the logout URL."""

    def __init__(self, settings: OidcSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._metadata: _Cached | None = None
        self._keys: _Cached | None = None

    # Reading from the provider --------------------------------------------------------

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise SignOnFailed(f"{what} could not be fetched ({type(error).__name__})") from None
        if response.status_code != 200:
            raise SignOnFailed(f"{what} answered HTTP {response.status_code}")
        try:
            found = response.json()
        except ValueError:
            found = None
        if not isinstance(found, dict):
            raise SignOnFailed(f"{what} is not a JSON object")
        return found

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, checked: its issuer is the configured one and
        its endpoints are HTTPS."""
        cached = self._metadata
        if cached is not None and time.monotonic() - cached.at < METADATA_SECONDS:
            return cached.value
        found = await self._get_json(self.settings.discovery, "the discovery document")
        if found.get("issuer") != self.settings.issuer:
            raise SignOnFailed("the discovery document names another issuer")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = found.get(name)
            if not isinstance(value, str) or not acceptable_url(value):
                raise SignOnFailed(f"the discovery document has no usable {name}")
        self._metadata = _Cached(found, time.monotonic())
        return found

    async def keys(self, *, again: bool = False) -> dict[str, Any]:
        cached = self._keys
        if not again and cached is not None and time.monotonic() - cached.at < METADATA_SECONDS:
            return cached.value
        if again and cached is not None and time.monotonic() - cached.at < 30:
            return cached.value  # read a moment ago: an unknown key id is not worth another
        metadata = await self.metadata()
        found = await self._get_json(str(metadata["jwks_uri"]), "the provider's keys")
        self._keys = _Cached(found, time.monotonic())
        return found

    def form_action_sources(self) -> list[str]:
        """Origins a form may lead to besides this form's own: the provider's, for the
        sign-out button's redirect to its end-session endpoint."""
        origins = []
        for url in (self.settings.issuer, self._end_session_endpoint()):
            if url:
                parts = urlsplit(url)
                origin = f"{parts.scheme}://{parts.netloc}"
                if origin not in origins:
                    origins.append(origin)
        return origins

    def _end_session_endpoint(self) -> str | None:
        if self._metadata is None:
            return None
        endpoint = self._metadata.value.get("end_session_endpoint")
        return endpoint if isinstance(endpoint, str) and acceptable_url(endpoint) else None

    # The flow ----------------------------------------------------------------------------

    async def authorization_url(self, state: str, nonce: str, verifier: str) -> str:
        metadata = await self.metadata()
        url: str = prepare_grant_uri(
            metadata["authorization_endpoint"],
            client_id=self.settings.client_id,
            response_type="code",
            redirect_uri=self.settings.redirect_url,
            scope=" ".join(self.settings.scopes),
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return url

    async def exchange(self, code: str, verifier: str) -> dict[str, Any]:
        """The token endpoint's answer for the code (an ``id_token`` among it)."""
        metadata = await self.metadata()
        s = self.settings
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": s.redirect_url,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json"}
        if s.token_auth == "client_secret_basic" and s.client_secret is not None:
            # RFC 6749 2.3.1: each part form-encoded before the Basic encoding.
            pair = f"{quote(s.client_id, safe='')}:{quote(s.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            data["client_id"] = s.client_id
            if s.token_auth == "client_secret_post" and s.client_secret is not None:
                data["client_secret"] = s.client_secret
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(
                    str(metadata["token_endpoint"]), data=data, headers=headers
                )
        except httpx.HTTPError as error:
            raise SignOnFailed(
                f"the token endpoint could not be reached ({type(error).__name__})"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise SignOnFailed(f"token endpoint answered HTTP {response.status_code}")
        if response.status_code != 200 or "error" in answer:
            code = str(answer.get("error", ""))
            shown = code if ERROR_CODE.match(code) else "an error"
            raise SignOnFailed(f"token endpoint refused the code: {shown}")
        if str(answer.get("token_type", "")).lower() != "bearer" or not isinstance(
            answer.get("id_token"), str
        ):
            raise SignOnFailed("token endpoint gave no ID token")
        return answer

    async def claims(self, answer: Mapping[str, Any], nonce: str) -> dict[str, Any]:
        """The validated claims of the token endpoint's ID token."""
        metadata = await self.metadata()
        advertised = metadata.get("id_token_signing_alg_values_supported")
        algorithms = tuple(a for a in advertised or ["RS256"] if isinstance(a, str))
        access_token = answer.get("access_token")

        def check(keys: Mapping[str, Any]) -> dict[str, Any]:
            return validate_id_token(
                str(answer["id_token"]),
                keys,
                issuer=self.settings.issuer,
                client_id=self.settings.client_id,
                nonce=nonce,
                algorithms=algorithms,
                access_token=access_token if isinstance(access_token, str) else None,
            )

        try:
            return check(await self.keys())
        except InvalidKeyIdError:
            try:
                return check(await self.keys(again=True))  # the provider rolled its keys
            except InvalidKeyIdError:
                raise SignOnFailed("ID token refused: signed with an unknown key") from None

    async def end_session_url(self, id_token: str | None) -> str | None:
        """RP-initiated logout: the provider's end-session address with the ID token as hint
        and where to come back to; None when the provider advertises none."""
        try:
            await self.metadata()
        except SignOnFailed as failure:
            log.warning("single sign-on: no logout at the provider: %s", failure)
            return None
        endpoint = self._end_session_endpoint()
        if endpoint is None:
            return None
        params = {
            "client_id": self.settings.client_id,
            "post_logout_redirect_uri": self.settings.post_logout,
        }
        if id_token:
            params["id_token_hint"] = id_token
        return endpoint + ("&" if urlsplit(endpoint).query else "?") + urlencode(params)


def client_for(oidc: OidcSettings | None) -> OidcClient | None:
    return OidcClient(oidc) if oidc is not None else None
