"""The codec server support staff's Temporal Web UI asks to read encrypted case data.

Case inputs and decisions reach Temporal encrypted (:mod:`workers.encryption`), so the Web UI
shows them as ``binary/encrypted``. Pointed at this endpoint (``--ui-codec-endpoint`` for
``icpc dev``; ``TEMPORAL_CODEC_ENDPOINT`` for a production UI, see docs/operations.md), the
UI posts the payloads it shows to ``/codec/decode`` and shows what comes back, following
Temporal's codec-server protocol: a JSON body ``{"payloads": [...]}`` in protobuf's JSON form
(metadata values and data base64), and the same shape in the answer.

Who may decode: a person signed in to this form (the UI sends the form's session cookie when
it is set to include credentials) or presenting a command-line token (``Authorization: Bearer
icpc_...``, for ``temporal workflow show --codec-auth``), holding the ``support`` role. Anyone
else gets 401 (not signed in) or 403 (no support role), as JSON. Every decode and every refusal
is audited (channel ``codec``, action ``codec_decode``) with the number of payloads, never
their content; nothing of a payload is logged.

The browser calls from the UI's origin, so ``ICPC_CODEC_CORS_ORIGINS`` (comma-separated, such
as ``https://temporal-ui.example.gov.uk``) lists the origins allowed, with credentials. A call
from any other origin is refused.

``/codec/encode`` is refused on purpose: the UI encodes only to send input to a workflow (a
signal, an update, a new start), and decisions are sent from this form, where they are scoped,
checked and audited, never from the Web UI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from domain.people import SUPPORT, Person
from records.audit import Action, AuditEntry, Channel, Outcome
from web.dependencies import address, services

ORIGINS_SETTING = "ICPC_CODEC_CORS_ORIGINS"
MAX_BODY_BYTES = 8 * 1024 * 1024
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"

router = APIRouter(prefix="/codec")


@dataclass(frozen=True)
class CodecService:
    """The payload codec (None when encryption is off or has no key) and the UI origins."""

    codec: PayloadCodec | None
    origins: frozenset[str] = field(default_factory=frozenset)


def parse_origins(text: str) -> frozenset[str]:
    origins = set()
    for item in filter(None, (part.strip().rstrip("/") for part in text.split(","))):
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ValueError(
                f"{ORIGINS_SETTING}: {item!r} is not an origin such as https://ui.example.org"
            )
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return frozenset(origins)


def service_from_environment(environ: Mapping[str, str] | None = None) -> CodecService:
    from workers.connection import DEFAULT_KEY_FILE
    from workers.encryption import PayloadKeyError, codec_from_environment

    env = os.environ if environ is None else environ
    try:
        codec = codec_from_environment(env, default_key_file=DEFAULT_KEY_FILE)
    except PayloadKeyError:  # `icpc web` refuses to start without a key; nothing to decode
        codec = None
    return CodecService(codec, parse_origins(env.get(ORIGINS_SETTING, "")))


def _service(request: Request) -> CodecService:
    found: CodecService = request.app.state.codec
    return found


# --- CORS --------------------------------------------------------------------------------------


def _cors(request: Request) -> dict[str, str] | None:
    """The CORS headers for this request's origin; {} for a call from the form's own origin or
    without an Origin; None for an origin that is not allowed."""
    origin = request.headers.get("origin")
    if origin is None:
        return {}
    normalised = origin.strip().rstrip("/").lower()
    if normalised in _service(request).origins:
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }
    if urlsplit(normalised).netloc == request.headers.get("host", "").lower():
        return {}
    return None


def _json(status: int, message: str, cors: Mapping[str, str]) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=dict(cors))


@router.options("/decode")
@router.options("/encode")
async def preflight(request: Request) -> Response:
    cors = _cors(request)
    if not cors:
        return Response(status_code=403)
    return Response(
        status_code=204,
        headers={
            **cors,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": "600",
        },
    )


# --- who is asking ------------------------------------------------------------------------------


async def _caller(request: Request) -> Person | None:
    """The signed-in person, or the person a command-line token names."""
    user: Person | None = request.state.user
    if user is not None:
        return user
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    found: Person | None = await services(request).accounts.run(
        lambda a: a.people.person_for_token(token.strip())
    )
    return found


async def _audit(request: Request, outcome: Outcome, person: Person | None, detail: str) -> None:
    entry = AuditEntry(
        action=Action.CODEC_DECODE,
        outcome=outcome,
        channel=Channel.CODEC,
        actor=person.id if person else None,
        actor_role=SUPPORT if person and person.holds(SUPPORT) else None,
        address=address(request),
        detail=detail,
    )
    await services(request).accounts.run(lambda a: a.audit(entry))


# --- the endpoints ------------------------------------------------------------------------------


@router.post("/decode")
async def decode(request: Request) -> Response:
    cors = _cors(request)
    if cors is None:
        return _json(403, "this origin may not call the codec server", {})
    person = await _caller(request)
    if person is None:
        await _audit(request, Outcome.REFUSED, None, "not signed in")
        return _json(401, "sign in to the ICPC web form (support role) first", cors)
    if not person.holds(SUPPORT):
        await _audit(request, Outcome.REFUSED, person, "no support role")
        return _json(403, "only support staff may decode case data", cors)
    codec = _service(request).codec
    if codec is None:
        return _json(503, "payload encryption is not configured on this form", cors)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _json(415, "send the payloads as application/json", cors)
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        return _json(413, "too many payloads at once", cors)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _json(413, "too many payloads at once", cors)
    try:
        sent = json_format.Parse(body, Payloads())
    except (json_format.ParseError, UnicodeDecodeError):
        return _json(400, 'the body is not {"payloads": [...]} as Temporal sends it', cors)
    decoded, failed = await _decode_each(codec, sent.payloads)
    namespace = request.headers.get("x-namespace", "")[:100]
    detail = f"payloads {len(decoded)}" + (f", not decoded {failed}" if failed else "")
    await _audit(
        request, Outcome.OK, person, detail + (f", namespace {namespace}" * bool(namespace))
    )
    return Response(
        json_format.MessageToJson(Payloads(payloads=decoded)),
        media_type="application/json",
        headers=cors,
    )


async def _decode_each(
    codec: PayloadCodec, payloads: Sequence[Payload]
) -> tuple[list[Payload], int]:
    """Each payload decoded; one that cannot be (a key no longer configured, tampered data)
    is returned as it came, so the UI shows the rest."""
    decoded: list[Payload] = []
    failed = 0
    for payload in payloads:
        try:
            [opened] = await codec.decode([payload])
        except Exception:  # never the payload in a message
            opened, failed = payload, failed + 1
        decoded.append(opened)
    return decoded, failed


@router.post("/encode")
async def encode(request: Request) -> Response:
    cors = _cors(request)
    return _json(
        403,
        "the Web UI sends nothing to cases: send decisions from the ICPC web form",
        cors or {},
    )
