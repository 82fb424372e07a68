"""Plan runs and slot locks. A plan is queued here and solved by the worker (``service/slots/jobs.py``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from service.auth.dependencies import Authenticated, Coordinator, SessionDep
from service.kit.encode import to_json
from service.requests import service as requests_service
from service.requests.schemas import RequestRead
from service.slots import service
from service.slots.schemas import PlanCreate, PlanRead

router = APIRouter(tags=["slots"])


@router.post("/v1/plans", response_model=PlanRead, status_code=202)
def create_plan(body: PlanCreate, principal: Coordinator, session: SessionDep, request: Request) -> JSONResponse:
    """Queue a plan run (coordinators). The worker solves it; poll `GET /v1/plans/{id}`."""
    run = service.create_plan(session, principal.org_id, body, request.app.state.settings)
    return JSONResponse(to_json(service.plan_read(run)), status_code=202,
                        headers={"Location": f"/v1/plans/{run.id}"})


@router.get("/v1/plans/{plan_id}", response_model=PlanRead)
def get_plan(plan_id: uuid.UUID, principal: Authenticated, session: SessionDep) -> dict:
    """Status (`queued`, `running`, `done`, `failed`), progress, statistics and the FCFS comparison."""
    return service.plan_read(service.get_plan(session, plan_id))


def _read(req, principal, warnings: list[str] | None = None) -> JSONResponse:  # noqa: ANN001
    full = requests_service.can_see_full(principal, req)
    return JSONResponse(to_json(requests_service.to_read(req, full=full, warnings=warnings)),
                        headers={"ETag": requests_service.etag(req)})


@router.post("/v1/requests/{request_id}/slot/lock", response_model=RequestRead)
def lock_slot(request_id: uuid.UUID, principal: Coordinator, session: SessionDep, request: Request,
              if_match: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Lock the request's slot (coordinators): later plan runs keep it where it is. A slot that clashes with
    approved or locked slots (409 `slot-conflict`, naming them) or breaks a precedence (`after`) against the other
    request's approved or locked slot (409 `precedence`, naming the links and the starts they allow) is refused.
    Submitted requests' provisional slots that clash with the locked slot or break an `after` link with it are
    placed again around it at once, as on approval; `warnings` name the precedences it still breaks against
    proposed slots."""
    req = service.set_lock(session, principal, request_id, locked=True, settings=request.app.state.settings,
                           if_match=if_match)
    return _read(req, principal, service.lock_warnings(session, req))


@router.post("/v1/requests/{request_id}/slot/unlock", response_model=RequestRead)
def unlock_slot(request_id: uuid.UUID, principal: Coordinator, session: SessionDep, request: Request,
                if_match: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Unlock the slot again: it is a proposal the next plan run may move."""
    return _read(service.set_lock(session, principal, request_id, locked=False,
                                  settings=request.app.state.settings, if_match=if_match), principal)
