"""The codec server support staff's Temporal Web UI asks to read encrypted case data.

Case inputs and decisions reach Temporal encrypted (:mod:`runtime.encryption`), so the Web UI
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

Which case: the UI sends only the namespace, so each sealed payload names the workflow it was
sealed for (``encryption-workflow-id``, bound to its ciphertext: :mod:`runtime.encryption`).
A decode writes one row per workflow its payloads belong to, naming the workflow and, when the
case record holds it, the case (a plan's payloads name the plan's case); payloads sealed for no
workflow (before this, or a payload that does not open) are counted on a row of their own.

Why: before their first decode in a session, a support person states a reason on
``/codec/reason`` (at least 10 characters, as for break glass), recorded as a ``codec_reason``
row; decodes without one are refused (403, saying where to state it). A command-line token
has no session: its call carries the reason in the ``X-ICPC-Codec-Reason`` header
(``temporal ... --codec-header "X-ICPC-Codec-Reason=..."``), written on each decode's row.

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
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from contracts.plan import plan_workflow_id
from domain.people import SUPPORT, Person
from domain.scoping import BREAK_GLASS_MIN_REASON, stated_reason
from records.audit import Action, AuditEntry, Channel, Outcome
from runtime.encryption import ENCODING, WORKFLOW_ID
from web.auth import CODEC_REASON
from web.dependencies import address, form_values, render, require_user, services
from web.problems import Problem

ORIGINS_SETTING = "ICPC_CODEC_CORS_ORIGINS"
MAX_BODY_BYTES = 8 * 1024 * 1024
REASON_HEADER = "X-ICPC-Codec-Reason"
ALLOWED_HEADERS = f"Content-Type, X-Namespace, Authorization, {REASON_HEADER}"
REASON_KEY = CODEC_REASON  # in the session: who stated a reason (the reason is audited)
REASON_PAGE = "/codec/reason"
REASON_ERROR = (
    f"Enter why you need to read case data, in at least {BREAK_GLASS_MIN_REASON} characters"
    " (not counting spaces)"
)
NO_REASON = (
    f"state why you need to read case data first: open {REASON_PAGE} on the ICPC web form"
    " (once a session)"
)

router = APIRouter(prefix="/codec")
FormValues = Annotated[dict[str, str], Depends(form_values)]


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
    from runtime.connection import DEFAULT_KEY_FILE
    from runtime.encryption import PayloadKeyError, codec_from_environment

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


async def _audit(
    request: Request,
    outcome: Outcome,
    person: Person | None,
    detail: str,
    *,
    action: Action = Action.CODEC_DECODE,
    case_id: str | None = None,
) -> None:
    entry = AuditEntry(
        action=action,
        outcome=outcome,
        channel=Channel.CODEC,
        actor=person.id if person else None,
        actor_role=SUPPORT if person and person.holds(SUPPORT) else None,
        case_id=case_id,
        address=address(request),
        detail=detail,
    )
    await services(request).accounts.run(lambda a: a.audit(entry))


def _session_reason(request: Request, person: Person) -> bool:
    """Whether this person stated a reason in this session."""
    stated = request.state.session.get(REASON_KEY)
    return isinstance(stated, dict) and stated.get("person") == person.id


async def _case_of(request: Request, workflow_id: str) -> str | None:
    """The case a workflow id is (or is the plan of), when the case record holds it."""
    candidates = [workflow_id]
    suffix = plan_workflow_id("")
    if workflow_id.endswith(suffix):
        candidates.insert(0, workflow_id.removesuffix(suffix))
    found = await services(request).records.read(
        lambda store: next((c for c in candidates if store.summary(c) is not None), None)
    )
    return found


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
    said = ""
    if request.state.user is None:  # a token, with no session: its reason is in a header
        said = stated_reason(request.headers.get(REASON_HEADER, "")) or ""
        if not said:
            await _audit(request, Outcome.REFUSED, person, f"no reason ({REASON_HEADER})")
            return _json(403, f"send why you need to read case data in {REASON_HEADER}", cors)
    elif not _session_reason(request, person):
        await _audit(request, Outcome.REFUSED, person, "no reason stated in this session")
        return _json(403, NO_REASON, cors)
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
    decoded = await _decode_each(codec, sent.payloads)
    namespace = request.headers.get("x-namespace", "")[:100]
    for workflow_id, (count, not_opened) in _by_workflow(sent.payloads, decoded).items():
        detail = f"payloads {count}" + (f", not decoded {not_opened}" if not_opened else "")
        if workflow_id is not None:
            detail += f", workflow {workflow_id}"
        detail += f", namespace {namespace}" * bool(namespace)
        detail += f", reason: {said}" * bool(said)
        case_id = await _case_of(request, workflow_id) if workflow_id else None
        await _audit(request, Outcome.OK, person, detail, case_id=case_id)
    return Response(
        json_format.MessageToJson(Payloads(payloads=decoded)),
        media_type="application/json",
        headers=cors,
    )


def _by_workflow(
    sent: Sequence[Payload], decoded: Sequence[Payload]
) -> dict[str | None, tuple[int, int]]:
    """(payloads, not decoded) by the workflow each was sealed for; a payload that did not
    open proves nothing of its workflow id (the id is bound to the ciphertext), so it counts
    under None with those sealed for no workflow."""
    groups: dict[str | None, tuple[int, int]] = {}
    for before, after in zip(sent, decoded, strict=True):
        opened = after is not before  # _decode_each hands back what it could not open
        raw = before.metadata.get(WORKFLOW_ID) if opened else None
        key = raw.decode("utf-8", "replace")[:200] if raw else None
        count, not_opened = groups.get(key, (0, 0))
        failed = before.metadata.get("encoding") == ENCODING and not opened
        groups[key] = (count + 1, not_opened + failed)
    return groups


async def _decode_each(codec: PayloadCodec, payloads: Sequence[Payload]) -> list[Payload]:
    """Each payload decoded; one that cannot be (a key no longer configured, tampered data)
    is returned as it came, so the UI shows the rest."""
    decoded: list[Payload] = []
    for payload in payloads:
        try:
            [opened] = await codec.decode([payload])
        except Exception:  # never the payload in a message
            opened = payload
        decoded.append(opened)
    return decoded


# --- the reason, once a session -------------------------------------------------------------------


async def require_support(request: Request) -> Person:
    user = require_user(request)
    if not user.holds(SUPPORT):
        raise Problem(
            403,
            "You cannot decode case data",
            "Only support staff (the support role) decode case data in the Temporal Web UI.",
        )
    return user


Support = Annotated[Person, Depends(require_support)]


@router.get("/reason")
async def reason_page(request: Request, user: Support) -> Response:
    return render(request, "codec_reason.html", stated=_session_reason(request, user), errors={})


@router.post("/reason")
async def state_reason(request: Request, user: Support, values: FormValues) -> Response:
    typed = values.get("reason", "")
    reason = stated_reason(typed)
    if reason is None:
        await _audit(request, Outcome.REFUSED, user, "reason too short", action=Action.CODEC_REASON)
        return render(
            request,
            "codec_reason.html",
            400,
            stated=False,
            errors={"reason": REASON_ERROR},
            typed=typed,
        )
    await _audit(request, Outcome.OK, user, reason, action=Action.CODEC_REASON)
    request.state.session[REASON_KEY] = {"person": user.id}
    return render(request, "codec_reason.html", stated=True, errors={}, just_stated=True)


@router.post("/encode")
async def encode(request: Request) -> Response:
    cors = _cors(request)
    return _json(
        403,
        "the Web UI sends nothing to cases: send decisions from the ICPC web form",
        cors or {},
    )
