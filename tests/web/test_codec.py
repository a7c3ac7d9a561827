"""The codec server support staff's Temporal Web UI reads encrypted case data through (issue 12).

In-process over HTTP (httpx against the app): a payload sealed with the product's own codec is
posted as the Web UI posts it, and comes back plain only for a signed-in person holding the
``support`` role; everyone else is refused; every call is audited without its content.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from records.database import make_engine
from records.people import PeopleStore
from starters.dev_command import child_environment, server_command
from tests.web.conftest import PASSWORD
from tests.web.web_helpers import add_person, sign_in
from web.app import create_app
from web.codec import CodecService, parse_origins, service_from_environment
from web.settings import Settings
from workers.encryption import ENCODING, EncryptionCodec

UI = "http://127.0.0.1:8233"
SECRET_TEXT = "Invented Child Zebedee-Quill"


@pytest.fixture
def codec() -> EncryptionCodec:
    return EncryptionCodec(os.urandom(32))


@pytest.fixture
async def http(web_settings: Settings, codec: EncryptionCodec) -> AsyncIterator[httpx.AsyncClient]:
    add_person(web_settings, "sue.support", ["support"], PASSWORD, "Sue Support")
    add_person(web_settings, "ada.admin", ["admin", "team_manager"], PASSWORD, "Ada Admin")

    async def no_temporal() -> Client:
        raise AssertionError("the codec server never talks to Temporal")

    app = create_app(web_settings, no_temporal)
    app.state.codec = CodecService(codec, parse_origins(f"{UI},http://localhost:8233"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.44", 50000)),
        base_url="http://127.0.0.1:8000",
    ) as client:
        yield client


async def sealed_body(codec: EncryptionCodec) -> tuple[Payload, str]:
    """A case input as the workflow's client writes it, encrypted, in the UI's JSON form."""
    [plain] = pydantic_data_converter.payload_converter.to_payloads(
        [{"child": SECRET_TEXT, "reason": "Key agency cannot attend"}]
    )
    [sealed] = await codec.encode([plain])
    assert sealed.metadata["encoding"] == ENCODING
    return plain, json_format.MessageToJson(Payloads(payloads=[sealed]))


def decode_request(body: str, **headers: str) -> dict[str, object]:
    return {
        "content": body,
        "headers": {
            "Content-Type": "application/json",
            "X-Namespace": "default",
            "Origin": UI,
            **headers,
        },
    }


def audit_rows(settings: Settings) -> list[AuditEntry]:
    engine = make_engine(settings.people_url)
    try:
        return [e for e in AuditLog(engine).read() if e.action is Action.CODEC_DECODE]
    finally:
        engine.dispose()


async def test_support_staff_get_the_plain_payload_back_and_it_is_audited(
    http: httpx.AsyncClient,
    codec: EncryptionCodec,
    web_settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain, body = await sealed_body(codec)
    assert SECRET_TEXT not in body
    await sign_in(http, "sue.support", PASSWORD)
    response = await http.post("/codec/decode", **decode_request(body))  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == UI
    assert response.headers["access-control-allow-credentials"] == "true"
    [opened] = json_format.Parse(response.text, Payloads()).payloads
    assert opened == plain
    assert json.loads(opened.data)["child"] == SECRET_TEXT
    # The protocol's shape: base64 metadata and data, as the Web UI reads it.
    [shown] = response.json()["payloads"]
    assert shown["metadata"]["encoding"] == "anNvbi9wbGFpbg=="  # json/plain

    [row] = audit_rows(web_settings)
    assert (row.outcome, row.channel, row.actor, row.actor_role) == (
        Outcome.OK,
        Channel.CODEC,
        "sue.support",
        "support",
    )
    assert row.detail == "payloads 1, namespace default"
    assert row.address == "192.0.2.44"
    out, err = capsys.readouterr()
    assert "Zebedee" not in out + err + row.detail, "no payload content in the logs or audit"


async def test_a_person_without_the_support_role_is_refused(
    http: httpx.AsyncClient, codec: EncryptionCodec, web_settings: Settings
) -> None:
    _, body = await sealed_body(codec)
    await sign_in(http, "ada.admin", PASSWORD)
    response = await http.post("/codec/decode", **decode_request(body))  # type: ignore[arg-type]
    assert response.status_code == 403
    assert response.json() == {"message": "only support staff may decode case data"}
    assert SECRET_TEXT not in response.text
    [row] = audit_rows(web_settings)
    assert (row.outcome, row.actor, row.detail) == (Outcome.REFUSED, "ada.admin", "no support role")


async def test_an_anonymous_caller_is_refused(
    http: httpx.AsyncClient, codec: EncryptionCodec, web_settings: Settings
) -> None:
    _, body = await sealed_body(codec)
    response = await http.post("/codec/decode", **decode_request(body))  # type: ignore[arg-type]
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == UI  # the UI can show why
    assert SECRET_TEXT not in response.text
    [row] = audit_rows(web_settings)
    assert (row.outcome, row.actor, row.detail) == (Outcome.REFUSED, None, "not signed in")


async def test_a_support_persons_command_line_token_decodes_too(
    http: httpx.AsyncClient, codec: EncryptionCodec, web_settings: Settings
) -> None:
    """For ``temporal workflow show --codec-endpoint ... --codec-auth "Bearer icpc_..."``."""
    engine = make_engine(web_settings.people_url)
    try:
        token = PeopleStore(engine).issue_token("sue.support", "codec")
    finally:
        engine.dispose()
    plain, body = await sealed_body(codec)
    response = await http.post(
        "/codec/decode",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert json_format.Parse(response.text, Payloads()).payloads[0] == plain
    wrong = await http.post(
        "/codec/decode",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer icpc_made_up"},
    )
    assert wrong.status_code == 401


async def test_other_origins_and_bad_bodies_are_refused(
    http: httpx.AsyncClient, codec: EncryptionCodec
) -> None:
    _, body = await sealed_body(codec)
    await sign_in(http, "sue.support", PASSWORD)
    foreign = await http.post(
        "/codec/decode",
        **decode_request(body, Origin="https://evil.example"),  # type: ignore[arg-type]
    )
    assert foreign.status_code == 403
    assert "access-control-allow-origin" not in foreign.headers
    as_form = await http.post(
        "/codec/decode",
        **decode_request(body, **{"Content-Type": "text/plain"}),  # type: ignore[arg-type]
    )
    assert as_form.status_code == 415
    garbled = await http.post("/codec/decode", **decode_request('{"payloads": 3}'))  # type: ignore[arg-type]
    assert garbled.status_code == 400
    encode = await http.post("/codec/encode", **decode_request(body))  # type: ignore[arg-type]
    assert encode.status_code == 403


async def test_the_browser_preflight_allows_the_ui_origin_only(http: httpx.AsyncClient) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    allowed = await http.options("/codec/decode", headers={"Origin": UI, **asked})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == UI
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "X-Namespace" in allowed.headers["access-control-allow-headers"]
    other = await http.options("/codec/decode", headers={"Origin": "https://evil.example", **asked})
    assert other.status_code == 403
    assert "access-control-allow-origin" not in other.headers


async def test_a_payload_sealed_with_an_unknown_key_comes_back_as_it_was(
    http: httpx.AsyncClient, codec: EncryptionCodec, web_settings: Settings
) -> None:
    _, ours = await sealed_body(codec)
    _, theirs = await sealed_body(EncryptionCodec(os.urandom(32)))
    both = Payloads(
        payloads=[
            *json_format.Parse(ours, Payloads()).payloads,
            *json_format.Parse(theirs, Payloads()).payloads,
        ]
    )
    await sign_in(http, "sue.support", PASSWORD)
    response = await http.post(
        "/codec/decode",
        **decode_request(json_format.MessageToJson(both)),  # type: ignore[arg-type]
    )
    assert response.status_code == 200
    opened, unopened = json_format.Parse(response.text, Payloads()).payloads
    assert opened.metadata["encoding"] == b"json/plain"
    assert unopened == both.payloads[1]
    [row] = audit_rows(web_settings)
    assert row.detail == "payloads 2, not decoded 1, namespace default"


def test_settings_key_and_origins(tmp_path: Path) -> None:
    key_file = tmp_path / "payload-key"
    key_file.write_text("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\n")  # 32 bytes of "A"
    service = service_from_environment(
        {"ICPC_PAYLOAD_KEY_FILE": str(key_file), "ICPC_CODEC_CORS_ORIGINS": f"{UI}/, HTTPS://UI.x"}
    )
    assert service.codec is not None
    assert service.origins == {UI, "https://ui.x"}
    assert service_from_environment({"ICPC_PAYLOAD_ENCRYPTION": "off"}).codec is None
    with pytest.raises(
        ValueError, match=r"ICPC_CODEC_CORS_ORIGINS: 'ui\.example' is not an origin"
    ):
        parse_origins("ui.example")


def test_icpc_dev_points_the_web_ui_at_the_codec_server(tmp_path: Path) -> None:
    args = argparse.Namespace(
        data_dir=tmp_path, port=7233, ui_port=8233, mail_port=8025, web_port=8000, no_web=False
    )
    command = server_command(args)
    flag = command.index("--ui-codec-endpoint")
    assert command[flag + 1] == "http://127.0.0.1:8000/codec"
    assert child_environment(args)["ICPC_CODEC_CORS_ORIGINS"] == (
        "http://127.0.0.1:8233,http://localhost:8233"
    )
    args.no_web = True
    assert "--ui-codec-endpoint" not in server_command(args)
