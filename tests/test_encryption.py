"""Payload encryption: case data reaches the Temporal server only as ciphertext."""

from __future__ import annotations

import base64
import dataclasses
import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from structlog.testing import capture_logs
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.monthly_reports import MonthlyReportsInput
from contracts.case import CaseInput, DecisionRequest
from contracts.payload_keys import NOT_SEALED, Unreadable
from runtime.connection import data_converter
from runtime.encryption import (
    COMPRESSION,
    ENCODING,
    ENCRYPTION_OFF_WARNING,
    KEY_ID,
    NONCE_BYTES,
    WORKFLOW_METADATA,
    EncryptionCodec,
    PayloadKeyError,
    WorkerCodec,
    WorkerPayloadConverter,
    codec_from_environment,
    ensure_key_file,
    key_id,
)


def new_key() -> bytes:
    return os.urandom(32)


async def test_round_trip_and_ciphertext_hides_the_text() -> None:
    codec = EncryptionCodec(new_key())
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"name": "Ada Example"}')
    [sealed] = await codec.encode([plain])
    assert sealed.metadata["encoding"] == ENCODING
    assert b"Ada" not in sealed.data and b"Ada" not in sealed.SerializeToString()
    [opened] = await codec.decode([sealed])
    assert opened == plain


async def test_old_keys_still_open_payloads_after_rotation() -> None:
    old, new = new_key(), new_key()
    [sealed] = await EncryptionCodec(old).encode([Payload(data=b"x")])
    with pytest.raises(PayloadKeyError, match="no key with id"):
        await EncryptionCodec(new).decode([sealed])
    [opened] = await EncryptionCodec(new, [old]).decode([sealed])
    assert opened.data == b"x"


async def test_a_payload_is_compressed_before_sealing_when_that_makes_it_smaller() -> None:
    """Ciphertext does not compress: a large payload (a procedure, a timeline) is compressed
    first, and says so in its metadata; a small one is sealed as it is."""
    codec = EncryptionCodec(new_key())
    rows = [{"step": f"Step {n}", "role": "team_manager", "days": n % 15} for n in range(200)]
    [large] = pydantic_data_converter.payload_converter.to_payloads([{"rows": rows}])
    small = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a": 1}')
    sealed_large, sealed_small = await codec.encode([large, small])
    assert sealed_large.metadata[COMPRESSION] == b"zlib"
    assert sealed_large.ByteSize() < large.ByteSize() / 3
    assert COMPRESSION not in sealed_small.metadata
    assert await codec.decode([sealed_large, sealed_small]) == [large, small]


async def test_payloads_sealed_before_compression_still_open() -> None:
    """A payload written by the release before (no mark) opens as it did."""
    key = new_key()
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"name": "Ada Example"}' * 50)
    nonce = os.urandom(NONCE_BYTES)
    old = Payload(
        metadata={"encoding": ENCODING, "encryption-key-id": key_id(key)},
        data=nonce + AESGCM(key).encrypt(nonce, plain.SerializeToString(), None),
    )
    assert await EncryptionCodec(key).decode([old]) == [plain]


async def test_the_compression_mark_cannot_be_changed_unnoticed() -> None:
    codec = EncryptionCodec(new_key())
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"[1]" * 99)])
    del sealed.metadata[COMPRESSION]
    with pytest.raises(InvalidTag):
        await codec.decode([sealed])
    [small] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"[1]")])
    small.metadata[COMPRESSION] = b"zlib"
    with pytest.raises(InvalidTag):
        await codec.decode([small])


async def test_the_workers_codec_hands_over_what_it_cannot_open_as_unreadable() -> None:
    """Only the workers' codec: every other process refuses such a payload."""
    ours, theirs = new_key(), new_key()
    [foreign] = await EncryptionCodec(theirs).encode(
        pydantic_data_converter.payload_converter.to_payloads([{"decision": {"kind": "x"}}])
    )
    [placeholder] = await WorkerCodec(ours).decode([foreign])
    [read] = pydantic_data_converter.payload_converter.from_payloads(
        [placeholder],
        [DecisionRequest | Unreadable],  # type: ignore[list-item]
    )
    assert read == Unreadable(unreadable_key_id=key_id(theirs).decode())
    with pytest.raises(PayloadKeyError, match=f"no key with id {key_id(theirs).decode()}"):
        await EncryptionCodec(ours).decode([foreign])
    [mine] = await EncryptionCodec(ours).encode([Payload(data=b"x")])
    assert (await WorkerCodec(ours).decode([mine]))[0].data == b"x"


async def test_the_workers_codec_refuses_what_the_service_did_not_seal() -> None:
    """A decision in clear (the Temporal CLI's `--input '{...}'`), or one marked sealed with the
    workers' key id that does not open, is handed over as the not-sealed placeholder; what the
    codec itself leaves plain (lone strings, the UI's metadata) still passes."""
    key = new_key()
    forged = {"decision": {"kind": "confirm_icpc", "decided_by": {"user": "x", "role": "y"}}}
    [plain] = pydantic_data_converter.payload_converter.to_payloads([forged])
    sealed_in_name = Payload(
        metadata={"encoding": ENCODING, KEY_ID: key_id(key)}, data=os.urandom(40)
    )
    too_short = Payload(metadata={"encoding": ENCODING, KEY_ID: key_id(key)}, data=b"x")
    null = Payload(metadata={"encoding": b"binary/null"})
    placeholders = await WorkerCodec(key).decode([plain, sealed_in_name, too_short, null])
    for placeholder in placeholders:
        [read] = pydantic_data_converter.payload_converter.from_payloads(
            [placeholder],
            [DecisionRequest | Unreadable],  # type: ignore[list-item]
        )
        assert read == Unreadable(unreadable_key_id="", not_sealed=True)
        assert read.timeline_event == "refused" and NOT_SEALED in read.timeline_text
        assert NOT_SEALED in read.refusal_text
    details = Payload(metadata={"encoding": b"json/plain"}, data=b'"Stage: awaiting booking"')
    metadata = Payload(
        metadata={"encoding": b"json/protobuf", "messageType": WORKFLOW_METADATA}, data=b""
    )
    assert await WorkerCodec(key).decode([details, metadata]) == [details, metadata]
    # Every other process opens a payload in clear as it is (the codec server shows the UI).
    assert await EncryptionCodec(key).decode([plain]) == [plain]


async def test_a_start_input_not_sealed_fails_the_workflow_not_its_task() -> None:
    """Where only a real value will do, the workers' converter raises an ApplicationError (the
    SDK fails the workflow with it, once); a key the workers lack stays an ordinary error (the
    task waits for the key)."""
    converter = WorkerPayloadConverter()
    plain = Unreadable.plaintext().payload()
    with pytest.raises(ApplicationError) as refused:
        converter.from_payloads([plain], [CaseInput])
    assert NOT_SEALED in refused.value.message and refused.value.non_retryable
    with pytest.raises(ApplicationError, match="plaintext payload refused"):
        converter.from_payloads([plain], [MonthlyReportsInput])  # every field has a default
    foreign = Unreadable(unreadable_key_id="0123456789abcdef").payload()
    with pytest.raises(Exception) as failed:
        converter.from_payloads([foreign], [CaseInput])
    assert not isinstance(failed.value, ApplicationError)
    assert converter.from_payloads([plain], [DecisionRequest | Unreadable]) == [  # type: ignore[list-item]
        Unreadable.plaintext()
    ]


def test_the_workers_converter_and_the_loud_warning_when_encryption_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ICPC_PAYLOAD_KEY", base64.b64encode(new_key()).decode())
    monkeypatch.delenv("ICPC_PAYLOAD_ENCRYPTION")
    workers = data_converter(worker=True)
    assert isinstance(workers.payload_codec, WorkerCodec)
    with pytest.raises(ApplicationError, match="plaintext payload refused"):
        workers.payload_converter.from_payloads([Unreadable.plaintext().payload()], [CaseInput])
    assert not isinstance(data_converter().payload_codec, WorkerCodec)
    monkeypatch.setenv("ICPC_PAYLOAD_ENCRYPTION", "off")
    with capture_logs() as logs:
        assert data_converter(worker=True).payload_codec is None
        data_converter()  # a client that is not a worker does not take decisions
    assert logs == [
        {
            "event": "payload_encryption_off",
            "warning": ENCRYPTION_OFF_WARNING,
            "log_level": "warning",
        }
    ]
    assert "NOT encrypted" in ENCRYPTION_OFF_WARNING and "decided_by" in ENCRYPTION_OFF_WARNING


async def test_lone_strings_stay_readable_for_the_web_ui() -> None:
    """Summaries, current details and timer names are plain strings without personal data."""
    details = Payload(metadata={"encoding": b"json/plain"}, data=b'"Stage: awaiting booking"')
    model = Payload(metadata={"encoding": b"json/plain"}, data=b'{"reason": "x"}')
    listing = Payload(metadata={"encoding": b"json/plain"}, data=b'[{"to": ["a@example.org"]}]')
    sealed = await EncryptionCodec(new_key()).encode([details, model, listing])
    assert sealed[0] == details
    assert [p.metadata["encoding"] for p in sealed[1:]] == [ENCODING, ENCODING]


async def test_unencrypted_payloads_pass_through_decoding() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b"1")
    assert await EncryptionCodec(new_key()).decode([plain]) == [plain]


def test_settings_from_the_environment(tmp_path: Path) -> None:
    assert codec_from_environment({"ICPC_PAYLOAD_ENCRYPTION": "off"}) is None
    with pytest.raises(PayloadKeyError, match="no payload key"):
        codec_from_environment({})
    key_file = ensure_key_file(tmp_path / "var" / "payload-key")
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert ensure_key_file(key_file).read_text() == key_file.read_text()  # kept, not replaced
    assert codec_from_environment({"ICPC_PAYLOAD_KEY_FILE": str(key_file)}) is not None
    with pytest.raises(PayloadKeyError, match="ICPC_PAYLOAD_KEY is not valid base64"):
        codec_from_environment({"ICPC_PAYLOAD_KEY": "not base64!"})
    with pytest.raises(PayloadKeyError, match="32 bytes"):
        codec_from_environment({"ICPC_PAYLOAD_KEY": base64.b64encode(b"short").decode()})


async def test_the_server_stores_only_ciphertext(dev_env: WorkflowEnvironment) -> None:
    """A workflow started through the encrypting client: its history holds no plain text."""
    codec = EncryptionCodec(new_key())
    config = dev_env.client.config()
    config["data_converter"] = dataclasses.replace(pydantic_data_converter, payload_codec=codec)
    client = Client(**config)
    secret = f"Invitee Zebedee {uuid.uuid4().hex[:6]}"
    handle = await client.start_workflow(
        "NoSuchWorkflowType",
        {"name": secret},
        id=f"encryption-{uuid.uuid4().hex[:8]}",
        task_queue="nobody-polls-this",
        execution_timeout=timedelta(minutes=1),
        static_summary="ICPC case REF-1 (bct-management-note)",
    )
    history = await dev_env.client.get_workflow_handle(handle.id).fetch_history()
    raw = history.to_json()
    assert secret not in raw and "Zebedee" not in raw
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].metadata["encoding"] == ENCODING
    [opened] = await codec.decode(started.input.payloads)
    assert secret.encode() in opened.data
    # What support staff read in the Web UI stays plain: a client with no key reads it.
    described = await dev_env.client.get_workflow_handle(handle.id).describe()
    assert await described.static_summary() == "ICPC case REF-1 (bct-management-note)"
    await handle.terminate()


@workflow.defn(sandboxed=False)
class DetailsWorkflow:
    """Sets current details as the case workflow does, and answers a query with case data."""

    @workflow.run
    async def run(self) -> None:
        workflow.set_current_details("Stage: awaiting booking")
        await workflow.wait_condition(lambda: False)

    @workflow.query
    def secret(self) -> dict[str, str]:
        return {"name": "Zebedee"}


async def test_current_details_stay_readable_for_the_web_ui(dev_env: WorkflowEnvironment) -> None:
    """The UI reads current details through the built-in metadata query: a client without the
    key must be able to read its answer, while the workflow's own query stays encrypted."""
    codec = EncryptionCodec(new_key())
    config = dev_env.client.config()
    config["data_converter"] = dataclasses.replace(pydantic_data_converter, payload_codec=codec)
    client = Client(**config)
    task_queue = f"details-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=task_queue, workflows=[DetailsWorkflow]):
        handle = await client.start_workflow(
            DetailsWorkflow.run, id=f"details-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        plain = dev_env.client.get_workflow_handle(handle.id)
        metadata = await plain.query("__temporal_workflow_metadata")
        assert metadata.current_details == "Stage: awaiting booking"
        with pytest.raises(Exception, match="binary/encrypted"):
            await plain.query(DetailsWorkflow.secret)
        assert await handle.query(DetailsWorkflow.secret) == {"name": "Zebedee"}
        await handle.terminate()
