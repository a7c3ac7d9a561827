"""The installed procedures, each as a BPMN diagram (drawn by bpmn-js in the browser) with the
same process in words beside it, for anyone signed in.

``/procedures`` lists them; ``/procedures/<id>`` shows one; ``/procedures/<id>/diagram.bpmn``
is its BPMN 2.0 document (:mod:`procedures.bpmn`), which the page's viewer fetches and which
opens in Camunda Modeler. The words come from :func:`procedures.process_map.describe`, the
same map the diagram is drawn from, so a screen-reader user reads what the picture shows.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from domain.procedure import Procedure
from procedures.bpmn import shape_count, to_bpmn
from procedures.process_map import describe
from web.dependencies import render, require_user, services
from web.problems import Problem

# Signed in is enough: a procedure is the authority's published process, not a case.
router = APIRouter(dependencies=[Depends(require_user)])

BPMN_MEDIA_TYPE = "application/xml"


def _procedure(request: Request, procedure_id: str) -> Procedure:
    found = services(request).procedures.get(procedure_id)
    if found is None:
        raise Problem(
            404,
            "Page not found",
            "There is no procedure at this address. The installed procedures are listed under"
            " Procedures.",
        )
    return found


@router.get("/procedures", response_class=HTMLResponse)
async def procedure_list(request: Request) -> Response:
    procedures = sorted(services(request).procedures.values(), key=lambda p: p.authority)
    return render(request, "procedures.html", procedures=procedures)


@router.get("/procedures/{procedure_id}", response_class=HTMLResponse)
async def procedure_page(request: Request, procedure_id: str) -> Response:
    procedure = _procedure(request, procedure_id)
    return render(
        request,
        "procedure.html",
        procedure=procedure,
        text=describe(procedure),
        shapes=shape_count(procedure),
    )


@router.get("/procedures/{procedure_id}/diagram.bpmn")
async def procedure_bpmn(request: Request, procedure_id: str) -> Response:
    procedure = _procedure(request, procedure_id)
    return Response(
        to_bpmn(procedure),
        media_type=BPMN_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{procedure.id}.bpmn"'},
    )
