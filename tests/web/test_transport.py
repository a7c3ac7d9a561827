"""Transport security (issue 12): HSTS and ``Secure`` cookies over HTTPS, or behind a proxy that
says so when the proxy is trusted; a warning when ``icpc web`` listens on the network in clear.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from starters.cli import main
from starters.web_command import transport_warning
from tests.conftest import free_port
from tests.web.conftest import PASSWORD
from tests.web.web_helpers import csrf_token
from web.app import create_app
from web.settings import Settings
from web.transport import HSTS

Client_ = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def clients(web_settings: Settings) -> AsyncIterator[Client_]:
    async def no_temporal() -> Client:
        raise AssertionError("not needed here")

    made: list[httpx.AsyncClient] = []

    def make(base_url: str, *, trusted_proxy: bool = False) -> httpx.AsyncClient:
        app = create_app(replace(web_settings, trusted_proxy=trusted_proxy), no_temporal)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("192.0.2.9", 40000)),
            base_url=base_url,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


def cookies_of(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def secure(cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in cookie.split(";")[1:]]


async def sign_in(http: httpx.AsyncClient, **headers: str) -> httpx.Response:
    page = await http.get("/sign-in", headers=headers)
    return await http.post(
        "/sign-in",
        data={"user": "tmanager", "password": PASSWORD, "csrf_token": csrf_token(page.text)},
        headers=headers,
    )


async def test_over_https_every_answer_has_hsts_and_every_cookie_is_secure(
    clients: Client_,
) -> None:
    http = clients("https://testserver")
    page = await http.get("/sign-in")
    assert page.headers["strict-transport-security"] == HSTS
    [before] = cookies_of(page)
    assert before.startswith("icpc_signin=") and secure(before)
    signed_in = await sign_in(http)
    assert signed_in.status_code == 303
    session = [c for c in cookies_of(signed_in) if c.startswith("icpc_session=")]
    assert session and all(secure(c) for c in cookies_of(signed_in))
    assert signed_in.headers["strict-transport-security"] == HSTS
    probe = await http.get("/healthz")
    assert probe.headers["strict-transport-security"] == HSTS


async def test_plain_http_has_neither(clients: Client_) -> None:
    http = clients("http://testserver")
    page = await http.get("/sign-in")
    assert "strict-transport-security" not in page.headers
    assert not any(secure(c) for c in cookies_of(page))


async def test_a_forwarded_https_counts_only_from_a_trusted_proxy(clients: Client_) -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    untrusted = await clients("http://testserver").get("/sign-in", headers=forwarded)
    assert "strict-transport-security" not in untrusted.headers
    assert not any(secure(c) for c in cookies_of(untrusted))

    trusted = clients("http://testserver", trusted_proxy=True)
    page = await trusted.get("/sign-in", headers=forwarded)
    assert page.headers["strict-transport-security"] == HSTS
    assert cookies_of(page) and all(secure(c) for c in cookies_of(page))
    # (The browser talks HTTPS to the proxy; httpx here would not send a Secure cookie back
    # over plain HTTP, so signing in is shown over HTTPS above.)

    # A chain of proxies: the nearest one's word (the right-most) counts.
    chained = await trusted.get("/sign-in", headers={"X-Forwarded-Proto": "https, http"})
    assert "strict-transport-security" not in chained.headers


def test_a_network_address_without_tls_is_warned_about() -> None:
    assert transport_warning("127.0.0.1", tls=False, trusted_proxy=False) is None
    assert transport_warning("::1", tls=False, trusted_proxy=False) is None
    assert transport_warning("localhost", tls=False, trusted_proxy=False) is None
    assert transport_warning("0.0.0.0", tls=True, trusted_proxy=False) is None
    warning = transport_warning("0.0.0.0", tls=False, trusted_proxy=False)
    assert warning is not None and warning.startswith(
        "icpc web: warning: listening on 0.0.0.0 without TLS"
    )
    assert "--tls-certfile" in warning and "ICPC_TRUSTED_PROXY=1" in warning
    behind = transport_warning("10.1.2.3", tls=False, trusted_proxy=True)
    assert behind is not None and "let nothing but that proxy reach this port" in behind


def test_icpc_web_prints_the_warning_as_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Printed first thing; here the form then stops for want of a payload key."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ICPC_PAYLOAD_ENCRYPTION")
    monkeypatch.setenv("ICPC_WEB_SECRET", "not-a-real-secret")
    monkeypatch.delenv("ICPC_TRUSTED_PROXY", raising=False)
    assert main(["web", "--host", "0.0.0.0", "--port", str(free_port())]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("icpc web: warning: listening on 0.0.0.0 without TLS")
    assert lines[1].startswith("icpc web: no payload key")
    assert main(["web", "--tls-certfile", str(tmp_path / "cert.pem")]) == 2
    assert "go together" in capsys.readouterr().err
