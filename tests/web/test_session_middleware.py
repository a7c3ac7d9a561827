"""The middleware that loads and keeps each request's session, against the app: when the
accounts' database fails as a session is loaded or kept, the page is a plain 503 with the
headers every page carries, and nothing of the page it replaced is sent. Probes and static
files carry the headers without any session. No case service is needed.

Every name here is invented.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from temporalio.client import Client

import records.sessions
from tests.web.conftest import PASSWORD
from tests.web.web_helpers import post_sign_in
from web.app import SECURITY_HEADERS, create_app
from web.auth import COOKIE
from web.settings import Settings
from web.users import UNAVAILABLE_TITLE


async def no_temporal() -> Client:
    raise ConnectionError("no case service in these tests")


@pytest.fixture
async def http(web_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(web_settings, no_temporal)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def database_down(*_: Any, **__: Any) -> Any:
    raise OperationalError("SELECT", {}, Exception("the database went away"))


def carries_page_headers(response: httpx.Response) -> bool:
    return all(response.headers.get(k) == v for k, v in SECURITY_HEADERS.items()) and (
        response.headers.get("cache-control") == "no-store"
    )


async def test_a_session_that_cannot_be_kept_gives_a_503_page_instead(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records.sessions.SessionStore, "save_data", database_down)

    response = await post_sign_in(
        http, "tmanager", PASSWORD
    )  # signing in keeps the new session's data

    assert response.status_code == 503
    assert UNAVAILABLE_TITLE in response.text
    assert "location" not in response.headers  # the sign-in's redirect was not sent
    assert carries_page_headers(response)


async def test_a_session_that_cannot_be_loaded_gives_a_503_page(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await post_sign_in(http, "tmanager", PASSWORD)).status_code == 303
    assert http.cookies.get(COOKIE)
    monkeypatch.setattr(records.sessions.SessionStore, "load", database_down)

    response = await http.get("/waiting")

    assert response.status_code == 503
    assert UNAVAILABLE_TITLE in response.text
    assert carries_page_headers(response)


async def test_a_signed_in_page_keeps_its_session_cookie_and_headers(
    http: httpx.AsyncClient,
) -> None:
    signed_in = await post_sign_in(http, "tmanager", PASSWORD)
    assert signed_in.status_code == 303 and carries_page_headers(signed_in)
    assert COOKIE in signed_in.headers.get("set-cookie", "")

    page = await http.get("/waiting")

    assert page.status_code == 200 and carries_page_headers(page)
    assert COOKIE in page.headers.get("set-cookie", "")  # its idle time starts again


async def test_probes_and_static_files_carry_the_headers_without_a_session(
    http: httpx.AsyncClient,
) -> None:
    probe = await http.get("/healthz")
    style = await http.get("/static/app.css")

    assert carries_page_headers(probe)
    assert style.status_code == 200
    assert all(style.headers.get(k) == v for k, v in SECURITY_HEADERS.items())
    assert style.headers.get("cache-control") != "no-store"  # static files may be cached
    assert "set-cookie" not in probe.headers and "set-cookie" not in style.headers
