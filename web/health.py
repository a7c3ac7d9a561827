"""Liveness and readiness for probes (compose, Kubernetes), outside sign-in and sessions.

``GET /healthz``  the process answers: always 200, nothing checked.
``GET /readyz``   200 when Temporal answers and the case record can be read, each within
                  ``CHECK_TIMEOUT`` seconds; otherwise 503 naming what is down.

Both answer a few fixed words of JSON: no address, no error text, no case data, no secret (the
reason a check failed goes to the log, the record's URL without its password). The session
middleware neither reads nor sets a cookie on them, and no form is posted, so CSRF is moot.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from records.schema import CaseSummaryRow
from records.store import RecordStore
from web.dependencies import services

router = APIRouter()
log = logging.getLogger(__name__)

PATHS = frozenset({"/healthz", "/readyz"})
CHECK_TIMEOUT = 2.0
HEADERS = {"Cache-Control": "no-store"}


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=HEADERS)


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    temporal, record = await asyncio.gather(temporal_ok(request), record_ok(request))
    body = {"temporal": "ok" if temporal else "down", "record": "ok" if record else "down"}
    return JSONResponse(body, status_code=200 if temporal and record else 503, headers=HEADERS)


async def temporal_ok(request: Request) -> bool:
    clients = services(request).clients

    async def check() -> None:
        client = await clients.get()
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=CHECK_TIMEOUT)
        )

    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except Exception as error:  # any failure, a timeout included, is "down"
        log.warning("readiness: Temporal unavailable (%s)", type(error).__name__)
        return False
    return True


def _one_row(store: RecordStore) -> None:
    with store.engine.connect() as connection:
        connection.execute(select(CaseSummaryRow.case_id).limit(1)).first()


async def record_ok(request: Request) -> bool:
    records = services(request).records
    try:
        await asyncio.wait_for(records.read(_one_row), CHECK_TIMEOUT)
    except Exception as error:  # RecordsUnavailable, a driver error, a timeout: all "down"
        log.warning("readiness: case record unavailable (%s)", type(error).__name__)
        return False
    return True
