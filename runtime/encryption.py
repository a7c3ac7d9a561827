"""Payload encryption: case data is encrypted before it leaves the process.

Workflow inputs, decisions, query results and activity payloads reach the Temporal server (and
its database, and its Web UI) only as AES-256-GCM ciphertext. Search attributes, current
details, summaries and timer names stay readable, so support staff can follow a case in the
Web UI: they never hold personal data. The codec tells them apart by shape: those are lone JSON
strings (and the workflow-metadata answer the UI asks for current details), while every payload
carrying case data is a JSON object or list (pydantic models).

The key comes from ``ICPC_PAYLOAD_KEY`` (32 bytes, base64), or from a key file
(``ICPC_PAYLOAD_KEY_FILE``); ``icpc dev`` creates one under ``var/`` for the embedded default.
The key id travels with each payload so keys can be rotated: old keys stay readable when listed
in ``ICPC_PAYLOAD_OLD_KEYS`` (comma-separated base64 keys).

A payload is compressed (zlib) before it is sealed when that makes it smaller, since ciphertext
does not compress: the mark ``encryption-compression: zlib`` says so, and is bound to the
ciphertext (associated data), so it cannot be added or taken away unnoticed. Payloads without
the mark (written before, or small) open as they always did.

Each payload sealed for a workflow also names it in the clear (``encryption-workflow-id``, from
the SDK's serialization context: the workflow whose input, result, signal or activity it is),
bound to the ciphertext the same way, so the codec server can say which case a decode was for
(the Temporal Web UI sends only the namespace). A workflow id names no one
(:func:`contracts.case.case_workflow_id`: procedure, case reference, date of the strategy
discussion), and it is in the clear in Temporal already.

The workers' codec (:class:`WorkerCodec`) hands over a payload sealed with a key they do not
hold as an ``Unreadable`` placeholder (:mod:`contracts.payload_keys`) instead of failing: the
SDK decodes a whole workflow activation before the workflow sees it, so one foreign decision
would otherwise fail the case's workflow task on every attempt, for good. Every other process
refuses such a payload (``PayloadKeyError``), in one line.

The workers read only what the service sealed: only the service holds the key, so a sealed
decision came from it, and a payload in clear (or one that claims to be sealed and does not
open) was sent by someone with Temporal access but no key (with the Temporal CLI, say). The
workers' codec hands it over as the ``Unreadable`` placeholder marked ``not_sealed``: a
decision's handlers refuse it (the timeline says so), and where only a real value will do (a
case's start input) the workers' converter (:class:`WorkerPayloadConverter`) fails that
workflow, or activity, for good with the plain reason instead of its task on every attempt.
Plain stays only what the codec itself leaves plain (``is_plain_text``): no decision or case
input is a lone string. The other processes' codec still opens payloads in clear as they are
(the codec server shows the Web UI what is there).

A process that has no usable key refuses to start or send: case data never leaves it in clear
because a setting was forgotten. Only ``ICPC_PAYLOAD_ENCRYPTION=off``, said on purpose (the
tests, which choose their own converter), turns encryption off; the workers then also read
payloads in clear, and say so in a warning as they start.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import os
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
)
from temporalio.exceptions import ApplicationError

from contracts.payload_keys import KEY_FILE_SETTING, NOT_SEALED, NOT_SEALED_MARK, Unreadable

ENCODING = b"binary/encrypted"
NONCE_BYTES = 12
KEY_ID = "encryption-key-id"
COMPRESSION = "encryption-compression"
ZLIB = b"zlib"
WORKFLOW_ID = "encryption-workflow-id"


def _associated(mark: bytes | None, workflow_id: bytes | None) -> bytes | None:
    """What the ciphertext is bound to: its compression mark and the workflow it belongs to
    (a payload without a workflow id binds only the mark, as before)."""
    if workflow_id is None:
        return mark
    return b"workflow=" + workflow_id + (b";compression=" + mark if mark is not None else b"")


class PayloadKeyError(RuntimeError):
    """The configured key cannot be used; the message says which setting is wrong."""


class UnknownKeyError(PayloadKeyError):
    """A payload sealed with a key this process does not hold."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"no key with id {kid} is configured")
        self.key_id = kid


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).hexdigest()[:16].encode()


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    def __init__(self, key: bytes, old_keys: Sequence[bytes] = ()) -> None:
        for k in (key, *old_keys):
            if len(k) != 32:
                raise PayloadKeyError("a payload key must be 32 bytes (base64 of 32 random bytes)")
        self._key_id = key_id(key)
        self._cipher = AESGCM(key)
        self._ciphers = {key_id(k): AESGCM(k) for k in (key, *old_keys)}
        self._workflow_id: bytes | None = None

    def with_context(self, context: SerializationContext) -> Self:
        """This codec, sealing for the workflow the SDK says the payloads belong to."""
        workflow_id = getattr(context, "workflow_id", None)
        if not workflow_id:
            return self
        bound = copy.copy(self)
        bound._workflow_id = str(workflow_id).encode()
        return bound

    @property
    def key_id(self) -> str:
        """The id of the key this codec seals with."""
        return self._key_id.decode()

    @property
    def readable_key_ids(self) -> frozenset[str]:
        """The ids of every key this codec opens (the current one and the old ones)."""
        return frozenset(k.decode() for k in self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(p) for p in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        if is_plain_text(payload):
            return payload
        metadata = {"encoding": ENCODING, KEY_ID: self._key_id}
        if self._workflow_id is not None:
            metadata[WORKFLOW_ID] = self._workflow_id
        plain = payload.SerializeToString()
        packed = zlib.compress(plain)
        mark: bytes | None = None
        if len(packed) < len(plain):
            plain, mark = packed, ZLIB
            metadata[COMPRESSION] = ZLIB
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, plain, _associated(mark, self._workflow_id))
        return Payload(metadata=metadata, data=nonce + sealed)

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was switched on
        kid = payload.metadata.get(KEY_ID, b"")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise UnknownKeyError(kid.decode(errors="replace"))
        mark = payload.metadata.get(COMPRESSION)  # None: not compressed (or written before)
        workflow_id = payload.metadata.get(WORKFLOW_ID)  # None: sealed for no workflow
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        plain = cipher.decrypt(nonce, sealed, _associated(mark, workflow_id))
        if mark is not None:
            if mark != ZLIB:
                raise PayloadKeyError(
                    f"unknown payload compression {mark.decode(errors='replace')}"
                )
            plain = zlib.decompress(plain)
        return Payload.FromString(plain)


class WorkerCodec(EncryptionCodec):
    """The workers' codec: a payload sealed with a key they do not hold becomes an
    ``Unreadable`` placeholder naming its key id, so the workflow can record it and carry on
    (a decision's handler accepts it) instead of its task failing on every attempt. A payload
    the service did not seal (in clear, or sealed in name only) becomes the placeholder
    marked ``not_sealed``: refused, never applied."""

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload if is_plain_text(payload) else Unreadable.plaintext().payload()
        try:
            return super()._decrypt(payload)
        except UnknownKeyError as error:
            return Unreadable(unreadable_key_id=error.key_id).payload()
        except (InvalidTag, ValueError, zlib.error, DecodeError, PayloadKeyError):
            # Our key id, but it does not open: made by someone without the key.
            return Unreadable.plaintext().payload()


class WorkerPayloadConverter(PydanticPayloadConverter):
    """The workers' converter: a ``not_sealed`` placeholder read as anything but ``Unreadable``
    (a case's start input, an activity's: a type that does not admit ``Unreadable``) fails that
    workflow, or activity, for good with the plain reason (an ``ApplicationError``, which the
    SDK fails the workflow with). Read as such a type it would fail the workflow task on every
    attempt, with no key ever to make it readable, or, for a model whose fields all have
    defaults, even pass as one. A decision's handlers take it as ``Unreadable`` and refuse it."""

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        if not any(NOT_SEALED_MARK in p.metadata for p in payloads):  # the usual case
            return super().from_payloads(payloads, type_hints)
        try:
            values = super().from_payloads(payloads, type_hints)
        except Exception:
            values = None
        if values is not None and all(
            isinstance(value, Unreadable)
            for value, payload in zip(values, payloads, strict=True)
            if NOT_SEALED_MARK in payload.metadata
        ):
            return values
        raise ApplicationError(
            f"Refused: this input was {NOT_SEALED}; only the service (the web form, the icpc"
            " command) starts cases and sends decisions, and it seals them",
            type="PlaintextRefused",
            non_retryable=True,
        )


def worker_data_converter(codec: EncryptionCodec) -> DataConverter:
    """The workers' data converter: pydantic payloads through ``codec`` (a ``WorkerCodec``, for
    the placeholders) read by :class:`WorkerPayloadConverter`."""
    return dataclasses.replace(
        pydantic_data_converter, payload_converter_class=WorkerPayloadConverter, payload_codec=codec
    )


# The Web UI reads a workflow's current details through this built-in query's answer.
WORKFLOW_METADATA = b"temporal.api.sdk.v1.WorkflowMetadata"


def is_plain_text(payload: Payload) -> bool:
    """A lone JSON string (a summary, current details or timer name we wrote ourselves), or
    the workflow metadata the Web UI shows as current details."""
    encoding = payload.metadata.get("encoding")
    if encoding == b"json/plain":
        return payload.data[:1] == b'"'
    return encoding == b"json/protobuf" and payload.metadata.get("messageType") == WORKFLOW_METADATA


KEY_SETTING = "ICPC_PAYLOAD_KEY"
OLD_KEYS_SETTING = "ICPC_PAYLOAD_OLD_KEYS"
OFF_SETTING = "ICPC_PAYLOAD_ENCRYPTION"  # "off": no encryption, said on purpose
ENCRYPTION_OFF_WARNING = (
    f"{OFF_SETTING}=off: payloads are NOT encrypted and this worker takes decisions sent in"
    " clear by anyone with Temporal access, whoever they name as decided_by; for tests only,"
    " never in production"
)
KEY_BYTES = 32
HOW_TO_CREATE = (
    "create one with `(umask 077; head -c 32 /dev/urandom | base64 > var/payload-key)`"
    " (`icpc dev` does this itself)"
)


def encryption_off(environ: Mapping[str, str]) -> bool:
    return environ.get(OFF_SETTING, "").strip().lower() in {"off", "0", "no", "false"}


def _decode_key(text: str, where: str) -> bytes:
    text = text.strip()
    if not text:
        raise PayloadKeyError(f"{where} is empty; {HOW_TO_CREATE}")
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        raise PayloadKeyError(
            f"{where} is not valid base64 (a payload key is {KEY_BYTES} random bytes, base64);"
            f" {HOW_TO_CREATE}"
        ) from None
    if len(key) != KEY_BYTES:
        raise PayloadKeyError(
            f"{where} holds a {len(key)}-byte key; a payload key is {KEY_BYTES} bytes;"
            f" {HOW_TO_CREATE}"
        )
    return key


def codec_from_environment(
    environ: Mapping[str, str] | None = None,
    default_key_file: Path | None = None,
    *,
    worker: bool = False,
) -> EncryptionCodec | None:
    """The codec the environment configures; None only when ``ICPC_PAYLOAD_ENCRYPTION=off``.
    ``worker``: the workers' codec, which hands over what it cannot open as ``Unreadable``.

    The key is ``ICPC_PAYLOAD_KEY``, else the file ``ICPC_PAYLOAD_KEY_FILE`` names, else
    ``default_key_file`` when it exists. No key, or one that cannot be used, is a
    ``PayloadKeyError`` whose message (one line) names the setting and how to make a key.
    """
    env = os.environ if environ is None else environ
    if encryption_off(env):
        return None
    text = env.get(KEY_SETTING, "")
    where = KEY_SETTING
    if not text.strip():
        named = env.get(KEY_FILE_SETTING, "").strip()
        if named:
            path, where = Path(named), f"{KEY_FILE_SETTING} ({named})"
        elif default_key_file is not None and default_key_file.exists():
            path, where = default_key_file, f"{KEY_FILE_SETTING} (default {default_key_file})"
        else:
            raise PayloadKeyError(
                f"no payload key, so nothing is sent: set {KEY_FILE_SETTING} to the key file"
                f" (or {KEY_SETTING} to the key); {HOW_TO_CREATE}"
            )
        try:
            text = path.read_text(encoding="ascii")
        except UnicodeDecodeError:
            text = "\x00"  # not base64 either
        except OSError as error:
            raise PayloadKeyError(
                f"{where}: cannot read the key file ({error.strerror}); {HOW_TO_CREATE}"
            ) from None
    old: Iterable[str] = filter(None, (k.strip() for k in env.get(OLD_KEYS_SETTING, "").split(",")))
    kind = WorkerCodec if worker else EncryptionCodec
    return kind(_decode_key(text, where), [_decode_key(k, OLD_KEYS_SETTING) for k in old])


def ensure_key_file(path: Path) -> Path:
    """Create a random key file (readable by its owner only) if there is none yet."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    return path
