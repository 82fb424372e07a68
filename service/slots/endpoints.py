"""Plan runs and slot locks. A plan is queued here and solved by the worker (``service/slots/jobs.py``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from service.auth.dependencies import Authenticated, Coordinator, SessionDep
from service.kit.encode import to_json
from service.kit.links import next_links
from service.kit.query import KnownQueryOnly
from service.requests import service as requests_service
from service.requests.schemas import RequestRead
from service.slots import service
from service.slots.schemas import PlanCreate, PlanList, PlanRead, PlanRequests

router = APIRouter(tags=["slots"])


@router.post("/v1/plans", response_model=PlanRead, status_code=202)
def create_plan(body: PlanCreate, principal: Coordinator, session: SessionDep, request: Request) -> JSONResponse:
    """Queue a plan run (coordinators). The worker solves it; poll `GET /v1/plans/{id}`."""
    run = service.create_plan(session, principal.org_id, body, request.app.state.settings)
    return JSONResponse(to_json(service.plan_read(run)), status_code=202,
                        headers={"Location": f"/v1/plans/{run.id}"})


@router.get("/v1/plans", response_model=PlanList, dependencies=[KnownQueryOnly])
def list_plans(principal: Coordinator, session: SessionDep, request: Request, cursor: str | None = None,
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> JSONResponse:
    """Past and queued plan runs (coordinators), newest first, `limit` per page (the `next` link carries the
    cursor); each run as `GET /v1/plans/{id}` shows it, its statistics without the per-request lists
    (`skipped_requests`, `skipped_reasons`, `kept_breaking_rules_requests`)."""
    items, next_cursor = service.list_plans(session, cursor=cursor, limit=limit)
    return JSONResponse(to_json({"items": items, "next_cursor": next_cursor,
                                 "links": _next(request, next_cursor)}))


@router.get("/v1/plans/{plan_id}", response_model=PlanRead)
def get_plan(plan_id: uuid.UUID, principal: Authenticated, session: SessionDep) -> dict:
    """Status (`queued`, `running`, `done`, `failed`), progress, statistics and the FCFS comparison. The
    requests the run moved or left unplaced: `GET /v1/plans/{id}/requests`."""
    return service.plan_view(session, plan_id)


@router.get("/v1/plans/{plan_id}/requests", response_model=PlanRequests, dependencies=[KnownQueryOnly])
def plan_requests(plan_id: uuid.UUID, principal: Coordinator, session: SessionDep, request: Request,
                  outcome: Literal["moved", "unplaced"] | None = None, cursor: str | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> JSONResponse:
    """The requests the run left unplaced (with the reason), then those it moved (the most days from the preferred
    start first; `previous_start` is the proposed slot it held before, where it held one), each with its title and
    its status now (coordinators). `outcome` keeps one kind; `counts` counts both in the whole run. A dry run's
    list says what the run would have done."""
    got = service.plan_requests(session, plan_id, outcome=outcome, cursor=cursor, limit=limit)
    return JSONResponse(to_json({**got, "links": _next(request, got["next_cursor"])}))


def _next(request: Request, cursor: str | None) -> list[dict]:
    """A ``next`` link while there are more (these lists are plain JSON)."""
    return next_links(request, cursor, media_type="application/json")


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
