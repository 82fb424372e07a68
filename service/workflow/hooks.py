"""Reactions to every change of a site request (see ``service/domains.py``): the history row, the
coordinator's answer clock on new submissions, emergencies, and withdrawals through DELETE."""

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


def read_extras(req: SiteRequest) -> dict[str, Any]:
    """The answer deadline that runs for the request now (``null`` when none), for a rejected request the
    decision with its reason, and for a contested one the owner's counter-proposal in its ``slot`` (the slots
    domain's slot object, with ``counter_proposal`` added)."""
    session = object_session(req)
    if session is None:
        return {"deadline": None, "decision": None}
    extras = {"deadline": service.deadline_json(session, req.id), "decision": service.decision_json(session, req)}
    counter = service.counter_proposal_json(session, req)
    slot = slot_extras(req)["slot"] if counter is not None else None
    if slot is not None:
        extras["slot"] = {**slot, "counter_proposal": counter}
    return extras
