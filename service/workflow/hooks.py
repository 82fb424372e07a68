"""Reactions to every change of a site request (see ``service/domains.py``): the history row, the
coordinator's answer clock on new submissions, emergencies, and withdrawals through DELETE; and what a read of
the request adds (the deadline, a rejection's decision; for the owner and coordinators a counter-proposal)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, object_session

from service.auth.service import Principal
from service.requests.models import SiteRequest
from service.slots.service import slot_extras
from service.workflow import service


def after_request_change(session: Session, req: SiteRequest, kind: str, principal: Principal | None) -> None:
    if service.in_transition(session):
        return  # the workflow's own transitions write their history themselves
    service.on_request_change(session, req, kind, principal)


def edit_warnings(session: Session, req: SiteRequest) -> list[str]:
    return service.edit_warnings(session, req)


def read_extras(req: SiteRequest, *, full: bool) -> dict[str, Any]:
    """The answer deadline that runs for the request now (``null`` when none) and, for a rejected request, the
    decision with its reason: as written for ``full`` readers (the owner, the coordinators), scrubbed as other
    organisations read free text. For ``full`` readers also a contested request's counter-proposal in its
    ``slot`` (the slots domain's slot object, with ``counter_proposal`` added): other organisations may see the
    request and its slot, not the negotiation about it."""
    from service.feeds.common import scrub_texts  # pure text rules

    session = object_session(req)
    if session is None:
        return {"deadline": None, "decision": None}
    decision = service.decision_json(session, req)
    out = {"deadline": service.deadline_json(session, req.id), "decision": decision if full else scrub_texts(decision)}
    counter = service.counter_proposal_json(session, req) if full else None
    slot = slot_extras(req)["slot"] if counter is not None else None
    if slot is not None:
        out["slot"] = {**slot, "counter_proposal": counter}
    return out
