"""Workflow endpoints: one POST per step of the lifecycle, proposals, changes after approval, history,
comments, reason codes. Thin: parse, call ``service``, answer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request, Response
from fastapi.responses import JSONResponse

from service.auth.dependencies import Authenticated, SessionDep
from service.kit.encode import to_json
from service.requests import service as requests_service
from service.requests.models import SiteRequest
from service.requests.schemas import RequestRead
from service.workflow import service
from service.workflow.reasons import REASON_CODES
from service.workflow.schemas import (
    ActionBody,
    ActionsRead,
    ChangeBody,
    ChangeRead,
    CommentBody,
    CommentRead,
    DecisionBody,
    HistoryEntry,
    ProposeBody,
    ReasonBody,
    ReasonCodeRead,
)
from service.workflow.states import TRANSITIONS

router = APIRouter(tags=["workflow"])
PREFIX = "/v1/requests/{request_id}"


def _answer(req: SiteRequest, warnings: list[str] | None = None) -> JSONResponse:
    content = to_json(requests_service.to_read(req, full=True, warnings=warnings))
    return JSONResponse(content, headers={"ETag": requests_service.etag(req)})


@router.get("/v1/reason-codes", response_model=list[ReasonCodeRead])
def reason_codes() -> list[dict[str, Any]]:
    """The reason codes of rejections, revocations and system decisions, in German and English."""
    return [{"code": r.code, "de": r.de, "en": r.en, "use": r.use} for r in REASON_CODES]


@router.get(PREFIX + "/actions", response_model=ActionsRead)
def actions(request_id: uuid.UUID, principal: Authenticated, session: SessionDep) -> dict[str, Any]:
    """The steps you may take now, and the answer deadline that runs."""
    return service.available_actions(session, principal, request_id)


@router.post(PREFIX + "/propose", response_model=RequestRead)
def propose(request_id: uuid.UUID, body: ProposeBody, principal: Authenticated, session: SessionDep,
            request: Request, if_match: Annotated[str | None, Header()] = None) -> Response:
    """Coordinators: propose a slot by hand (the planner proposes through the same function). Refused (409) when
    it overlaps approved or locked slots (`slot-conflict`) or breaks a precedence (`after`) against the other
    request's approved or locked slot (`precedence`, naming the links and the starts they allow); `warnings`
    name the blackouts and moratoriums the slot lies in and the precedences it breaks against proposed slots."""
    if not principal.is_coordinator:
        from service.kit.problems import forbidden

        service.load_visible(session, principal, request_id, lock=False)
        raise forbidden("Only the coordination office may propose a slot.")
    req = service.propose(session, principal, request_id, body.start, body.explanation, body.reason,
                          request.app.state.settings, if_match=if_match)
    return _answer(req, service.proposal_warnings(session, req))


@router.post(PREFIX + "/approve", response_model=RequestRead)
def approve(request_id: uuid.UUID, principal: Authenticated, session: SessionDep, request: Request,
            body: Annotated[ActionBody | None, Body()] = None,
            if_match: Annotated[str | None, Header()] = None) -> Response:
    """Coordinators: approve the proposed slot (or `start`). With `If-Match` a stale ETag answers 412. A slot
    that conflicts with approved or locked slots (`slot-conflict`), lies in a blackout or moratorium
    (`rule-conflict`, naming them in `rule_conflicts`) or breaks a precedence against an approved or locked slot
    (`precedence`) is refused (409) unless `override` is true; `warnings` name the blackouts and moratoriums it
    overrode and the precedences it breaks against proposed slots."""
    req = service.approve(session, principal, request_id, body or ActionBody(), request.app.state.settings,
                          if_match=if_match)
    return _answer(req, service.approval_warnings(session, req))


def _step(action: str, fn: Callable[..., SiteRequest]) -> None:
    t = TRANSITIONS[action]

    def endpoint(request_id: uuid.UUID, principal: Authenticated, session: SessionDep, request: Request,
                 body: Annotated[ActionBody | None, Body()] = None,
                 if_match: Annotated[str | None, Header()] = None) -> Response:
        req = fn(session, principal, request_id, body or ActionBody(), request.app.state.settings,
                 if_match=if_match)
        # submitting an emergency draft activates it: the answer says what that did, as a create's does
        return _answer(req, service.edit_warnings(session, req) if action == "submit" else None)

    endpoint.__name__ = f"{action}_request"
    who = {"owner": "Owners", "coordinator": "Coordinators"}.get(t.who, "Owners and coordinators")
    router.add_api_route(
        f"{PREFIX}/{action}", endpoint, methods=["POST"], response_model=RequestRead,
        summary=f"{action.capitalize()} ({t.who})",
        description=f"{who}: {t.doc}. From {', '.join(sorted(t.sources))} to {t.target}; "
        f"event `{t.event}`. Illegal in the current state: 409 with `allowed`. With `If-Match` (the ETag of "
        "the request as you read it, slot included) a request that changed since answers 412.",
    )


for _action, _fn in service.ACTIONS.items():
    _step(_action, _fn)


@router.get(PREFIX + "/history", response_model=list[HistoryEntry])
def history(request_id: uuid.UUID, principal: Authenticated, session: SessionDep) -> list[Any]:
    """Every change of the request, its slot and its state, in order (owner and coordinators)."""
    return service.history(session, principal, request_id)


@router.post(PREFIX + "/comments", response_model=CommentRead, status_code=201)
def add_comment(request_id: uuid.UUID, body: CommentBody, principal: Authenticated,
                session: SessionDep, response: Response) -> dict[str, Any]:
    c = service.add_comment(session, principal, request_id, body.text)
    response.headers["Location"] = f"/v1/requests/{request_id}/comments/{c.id}"
    return _comment(c, principal.org_name if c.organisation_id == principal.org_id else None)


@router.get(PREFIX + "/comments", response_model=list[CommentRead])
def list_comments(request_id: uuid.UUID, principal: Authenticated, session: SessionDep) -> list[dict[str, Any]]:
    """Comments, visible to the owner and the coordinators."""
    return [_comment(c) for c in service.comments(session, principal, request_id)]


@router.get(PREFIX + "/comments/{comment_id}", response_model=CommentRead)
def get_comment(request_id: uuid.UUID, comment_id: uuid.UUID, principal: Authenticated,
                session: SessionDep) -> dict[str, Any]:
    return _comment(service.get_comment(session, principal, request_id, comment_id))


def _comment(c: Any, name: str | None = None) -> dict[str, Any]:
    from sqlalchemy.orm import object_session

    from service.auth.models import Organisation

    session = object_session(c)
    org = session.get(Organisation, c.organisation_id) if session is not None else None
    return {"id": c.id, "request_id": c.request_id, "key_id": c.key_id, "text": c.text,
            "created_at": c.created_at,
            "organisation": {"id": c.organisation_id, "name": org.name if org else name,
                             "kind": org.kind if org else None}}


@router.post(PREFIX + "/changes", response_model=ChangeRead, status_code=201)
def request_change(request_id: uuid.UUID, body: ChangeBody, principal: Authenticated, session: SessionDep,
                   request: Request, response: Response) -> dict[str, Any]:
    """Owners: ask for an extension, a new area, another effect on traffic (`impact`, `modes`, `shift`,
    `diversions`, `replacement_routes`, validated as on creation) and/or other precedences (`after`, replacing
    the request's list, validated as on creation) after approval; the coordination office may ask for a change
    that gives only `after` (it orders two organisations' works). Placed and checked for conflicts at once (a
    change that only shortens the works keeps its start unchecked: its days are a part of the slot's; one that
    has to move prefers the starts that keep its precedences; one whose new `after` the slot in place breaks
    against a locked or approved slot moves to the nearest free start that keeps it; an active site stays and
    only clashes its new days add count); pending until a coordinator decides (the old slot and values stay
    valid). `precedences` and `warnings` name the precedences the placed slot breaks (with the new `after`);
    against a locked or approved slot (`blocks_approval`) the coordinator can approve the change only with
    `override`. Blackouts and moratoriums are avoided as a plan run avoids them: a change that would break one
    anew in place moves, and one that moves takes a start outside them when one is free; those it still lies
    in are named in `conflicts` (`kind` `blackout` or `moratorium`; `blocks_approval` false for one the old
    slot broke on the same days already) and `warnings`."""
    change = service.request_change(session, principal, request_id, body, request.app.state.settings)
    response.headers["Location"] = f"/v1/requests/{request_id}/changes/{change.id}"
    return service.change_json(session, change)


@router.get(PREFIX + "/changes", response_model=list[ChangeRead])
def list_changes(request_id: uuid.UUID, principal: Authenticated, session: SessionDep) -> list[dict[str, Any]]:
    return service.list_changes(session, principal, request_id)


@router.get(PREFIX + "/changes/{change_id}", response_model=ChangeRead)
def get_change(request_id: uuid.UUID, change_id: uuid.UUID, principal: Authenticated,
               session: SessionDep) -> dict[str, Any]:
    return service.get_change(session, principal, request_id, change_id)


def _decision(decision: str) -> None:
    def endpoint(request_id: uuid.UUID, change_id: uuid.UUID, principal: Authenticated, session: SessionDep,
                 request: Request, body: Annotated[DecisionBody | None, Body()] = None,
                 if_match: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        change = service.decide_change(session, principal, request_id, change_id, decision,
                                       body or DecisionBody(), request.app.state.settings, if_match=if_match)
        return service.change_json(session, change)

    endpoint.__name__ = f"{decision}_change"
    router.add_api_route(f"{PREFIX}/changes/{{change_id}}/{decision}", endpoint, methods=["POST"],
                         response_model=ChangeRead, summary=f"{decision.capitalize()} a change (coordinator)",
                         description=DECISION_DOCS[decision] + IF_MATCH_DOC)


IF_MATCH_DOC = (" With `If-Match` (the ETag of the request as you read it, `GET /v1/requests/{id}`) a request that "
                "changed since answers 412 and nothing is decided; without it nothing is compared.")
DECISION_DOCS = {
    "approve": "The changed works are checked again at their dates against the approved and locked slots as they "
               "are now, the blackouts and moratoriums and the precedences with them (with the `after` the change "
               "gives): 409 `slot-conflict`, `rule-conflict` or `precedence` unless `override` is true (the slot's "
               "explanation then names what was overridden). Only what the new slot adds counts: a clash, rule or "
               "broken precedence the old slot had already (as much, on the same days) was accepted when it was "
               "approved (a shortening needs no override again; the slot's explanation keeps them as "
               "`accepted_before`). 409 `invalid-precedence` when the change's "
               "`after` no longer holds (a request it names was withdrawn or now comes after this one).",
    "reject": "`reason_code` is required (GET /v1/reason-codes); the old slot stays valid.",
}


_decision("approve")
_decision("reject")


@router.post(PREFIX + "/changes/{change_id}/withdraw", response_model=ChangeRead,
             summary="Take back a pending change (owner)",
             description="The owner (or the organisation that asked for it, e.g. the coordination office for an "
                         "`after`) takes back a pending change, with an optional `reason`: it becomes `withdrawn`, "
                         "the request and its approved slot stay as they are, and a new change can be asked for at "
                         "once. 409 `change-decided` once it was approved, rejected or cancelled." + IF_MATCH_DOC)
def withdraw_change(request_id: uuid.UUID, change_id: uuid.UUID, principal: Authenticated, session: SessionDep,
                    request: Request, body: Annotated[ReasonBody | None, Body()] = None,
                    if_match: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    change = service.withdraw_change(session, principal, request_id, change_id, (body or ReasonBody()).reason,
                                     request.app.state.settings, if_match=if_match)
    return service.change_json(session, change)
