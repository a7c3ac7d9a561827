"""Payload encryption: case data reaches the Temporal server only as ciphertext."""

from __future__ import annotations

import base64
import dataclasses
import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from workers.encryption import (
    ENCODING,
    EncryptionCodec,
    PayloadKeyError,
    codec_from_environment,
    ensure_key_file,
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
    assert codec_from_environment({}) is None
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
