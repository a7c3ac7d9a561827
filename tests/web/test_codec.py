"""The codec server support staff's Temporal Web UI reads encrypted case data through (issue 12).

In-process over HTTP (httpx against the app): a payload sealed with the product's own codec is
posted as the Web UI posts it, and comes back plain only for a signed-in person holding the
``support`` role who has stated why in this session; everyone else is refused; every call is
audited without its content, naming the workflow and the case it was for.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import WorkflowSerializationContext
from temporalio.testing import WorkflowEnvironment

from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from records.database import make_engine
from records.people import PeopleStore
from records.store import RecordStore
from runtime.encryption import ENCODING, WORKFLOW_ID, EncryptionCodec
from starters.dev_command import child_environment, server_command
from tests.records.data import batch
from tests.web.conftest import PASSWORD
from tests.web.web_helpers import add_person, csrf_token, sign_in
from web.app import create_app
from web.codec import CodecService, parse_origins, service_from_environment
from web.settings import Settings

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


async def sealed_body(
    codec: EncryptionCodec, workflow_id: str | None = None
) -> tuple[Payload, str]:
    """A case input as the workflow's client writes it, encrypted, in the UI's JSON form;
    sealed for ``workflow_id`` as the SDK seals a workflow's payloads (none: for no workflow,
    as payloads were sealed before)."""
    [plain] = pydantic_data_converter.payload_converter.to_payloads(
        [{"child": SECRET_TEXT, "reason": "Key agency cannot attend"}]
    )
    if workflow_id is not None:
        codec = codec.with_context(WorkflowSerializationContext("default", workflow_id))
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


def audit_rows(settings: Settings, action: Action = Action.CODEC_DECODE) -> list[AuditEntry]:
    engine = make_engine(settings.people_url)
    try:
        return [e for e in AuditLog(engine).read() if e.action is action]
    finally:
        engine.dispose()


REASON = "Checking why case REF-1's reminder was not sent (ticket 4411)"


async def state_reason(http: httpx.AsyncClient, reason: str = REASON) -> httpx.Response:
    """The reason form, sent as a browser sends it."""
    page = await http.get("/codec/reason")
    assert page.status_code == 200, page.text
    return await http.post(
        "/codec/reason", data={"reason": reason, "csrf_token": csrf_token(page.text)}
    )


async def support_signed_in(http: httpx.AsyncClient) -> None:
    await sign_in(http, "sue.support", PASSWORD)
    assert (await state_reason(http)).status_code == 200


async def test_support_staff_get_the_plain_payload_back_and_it_is_audited(
    http: httpx.AsyncClient,
    codec: EncryptionCodec,
    web_settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain, body = await sealed_body(codec)
    assert SECRET_TEXT not in body
    await support_signed_in(http)
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
    bearer = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    unsaid = await http.post("/codec/decode", content=body, headers=bearer)
    assert unsaid.status_code == 403
    assert unsaid.json() == {
        "message": "send why you need to read case data in X-ICPC-Codec-Reason"
    }
    response = await http.post(
        "/codec/decode", content=body, headers={**bearer, "X-ICPC-Codec-Reason": REASON}
    )
    assert response.status_code == 200, response.text
    assert json_format.Parse(response.text, Payloads()).payloads[0] == plain
    decoded, refused = audit_rows(web_settings)
    assert decoded.detail == f"payloads 1, reason: {REASON}"
    assert (refused.outcome, refused.detail) == (Outcome.REFUSED, "no reason (X-ICPC-Codec-Reason)")
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
    await support_signed_in(http)
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
    await support_signed_in(http)
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


async def test_a_decode_without_a_stated_reason_is_refused_and_says_where_to_state_one(
    http: httpx.AsyncClient, codec: EncryptionCodec, web_settings: Settings
) -> None:
    _, body = await sealed_body(codec)
    await sign_in(http, "sue.support", PASSWORD)
    response = await http.post("/codec/decode", **decode_request(body))  # type: ignore[arg-type]
    assert response.status_code == 403
    assert "/codec/reason" in response.json()["message"] and SECRET_TEXT not in response.text
    [row] = audit_rows(web_settings)
    assert (row.outcome, row.detail) == (Outcome.REFUSED, "no reason stated in this session")


async def test_the_reason_is_stated_once_a_session_and_recorded_like_break_glass(
    http: httpx.AsyncClient, codec: EncryptionCodec, web_settings: Settings
) -> None:
    await sign_in(http, "sue.support", PASSWORD)
    short = await state_reason(http, "  just   look  ")
    assert short.status_code == 400
    assert "in at least 10 characters" in short.text and "There is a problem" in short.text
    done = await state_reason(http)
    assert done.status_code == 200 and "Your reason is recorded" in done.text
    _, body = await sealed_body(codec)
    for _ in range(2):  # once a session: each decode after it is let through
        decoded = await http.post("/codec/decode", **decode_request(body))  # type: ignore[arg-type]
        assert decoded.status_code == 200
    stated, refused = audit_rows(web_settings, Action.CODEC_REASON)
    assert (stated.outcome, stated.actor, stated.actor_role, stated.detail) == (
        Outcome.OK,
        "sue.support",
        "support",
        REASON,
    )
    assert (refused.outcome, refused.detail) == (Outcome.REFUSED, "reason too short")
    assert (await http.get("/codec/reason")).text.count('data-testid="stated"') == 1


async def test_the_reason_page_is_for_support_staff_only(http: httpx.AsyncClient) -> None:
    await sign_in(http, "ada.admin", PASSWORD)
    assert (await http.get("/codec/reason")).status_code == 403


async def test_a_decode_names_the_workflow_and_the_case_it_was_for(
    http: httpx.AsyncClient, codec: EncryptionCodec, web_settings: Settings
) -> None:
    case_id = f"icpc-bct-management-note-COD-{uuid.uuid4().hex[:6]}-20261201"
    with RecordStore(web_settings.record_url) as store:
        store.append(batch(case_id, case_reference="COD-1"))
    _, case_body = await sealed_body(codec, case_id)
    _, plan_body = await sealed_body(codec, f"{case_id}-plan")
    _, other_body = await sealed_body(codec, "icpc-monthly-reports-2026-11")
    payloads = [
        payload
        for body in (case_body, plan_body, other_body)
        for payload in json_format.Parse(body, Payloads()).payloads
    ]
    assert payloads[0].metadata[WORKFLOW_ID] == case_id.encode()
    await support_signed_in(http)
    response = await http.post(
        "/codec/decode",
        **decode_request(json_format.MessageToJson(Payloads(payloads=payloads))),  # type: ignore[arg-type]
    )
    assert response.status_code == 200
    rows = sorted(audit_rows(web_settings), key=lambda r: r.detail)
    assert [(r.case_id, r.detail) for r in rows] == [
        (case_id, f"payloads 1, workflow {case_id}, namespace default"),
        (case_id, f"payloads 1, workflow {case_id}-plan, namespace default"),
        (None, "payloads 1, workflow icpc-monthly-reports-2026-11, namespace default"),
    ]


async def test_a_payload_moved_to_another_workflow_does_not_open(
    http: httpx.AsyncClient, codec: EncryptionCodec, web_settings: Settings
) -> None:
    """The workflow id is bound to the ciphertext: a forged one cannot misname the case."""
    _, body = await sealed_body(codec, "icpc-bct-management-note-A-20261201")
    [sealed] = json_format.Parse(body, Payloads()).payloads
    sealed.metadata[WORKFLOW_ID] = b"icpc-bct-management-note-B-20261201"
    await support_signed_in(http)
    response = await http.post(
        "/codec/decode",
        **decode_request(json_format.MessageToJson(Payloads(payloads=[sealed]))),  # type: ignore[arg-type]
    )
    [unopened] = json_format.Parse(response.text, Payloads()).payloads
    assert unopened == sealed
    [row] = audit_rows(web_settings)
    assert (row.case_id, row.detail) == (None, "payloads 1, not decoded 1, namespace default")


async def test_the_sdk_seals_a_workflows_payloads_for_it(dev_env: WorkflowEnvironment) -> None:
    """Through a real client: the started workflow's input names the workflow's id."""
    codec = EncryptionCodec(os.urandom(32))
    config = dev_env.client.config()
    config["data_converter"] = dataclasses.replace(pydantic_data_converter, payload_codec=codec)
    workflow_id = f"icpc-bct-management-note-SDK-{uuid.uuid4().hex[:6]}-20261201"
    handle = await Client(**config).start_workflow(
        "NoSuchWorkflowType",
        {"child": SECRET_TEXT},
        id=workflow_id,
        task_queue="nobody-polls-this",
        execution_timeout=timedelta(minutes=1),
    )
    history = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
    [sealed] = history.events[0].workflow_execution_started_event_attributes.input.payloads
    assert sealed.metadata[WORKFLOW_ID] == workflow_id.encode()
    [opened] = await codec.decode([sealed])
    assert SECRET_TEXT.encode() in opened.data
    await handle.terminate()
