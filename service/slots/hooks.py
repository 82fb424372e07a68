"""The slots domain's part in every request change and read."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from service.requests.models import SiteRequest
from service.settings import Settings
from service.slots import repository, service

log = logging.getLogger("baustellen.slots")


@cache
def _settings() -> Settings:
    return Settings()


def settings_for(session: Session) -> Settings:
    return session.info.get("settings") or _settings()


def after_request_change(session: Session, req: SiteRequest, kind: str, principal: Any) -> None:
    """A new submitted request (created as such, or a draft sent in) gets a provisional slot at once; an
    edited one whose slot is not fixed is placed again, and so is one whose locked slot no longer fits the
    edited window or duration (the lock is released); a withdrawn (or rejected) one gives its slot back, and
    the submitted requests it left unplaced are placed again at once."""
    if req.status in ("withdrawn", "rejected"):
        service.release(session, req)
        session.flush()
        service.place_unblocked(session, req, settings_for(session))  # those it kept out get their chance
        return
    if req.status != "submitted" or kind not in ("request.created", "request.submitted", "request.updated"):
        return
    if req.urgency == "emergency" and _workflow_handles_emergencies():
        return  # the workflow makes it active at once with an approved slot from today
    slot = repository.get_slot(session, req.id)
    if slot is not None:
        if slot.status == "locked" and not service.lock_fits(req, slot):
            service.replace_outdated_lock(session, req, principal, settings_for(session))
            return
        if slot.status in ("locked", "approved"):
            return
        repository.delete_slot(session, req.id)
        session.flush()
    service.place_incrementally(session, req, settings_for(session),
                                cause=service.EDITED if kind == "request.updated" else service.NEW)


@cache
def _workflow_handles_emergencies() -> bool:
    return service.workflow_hook("activate_emergency") is not None


def read_extras(req: SiteRequest, *, full: bool) -> dict[str, Any]:
    """The slot as its owner and the coordinators read it (``full``: as written), or as every other organisation
    does (texts scrubbed of personal data, no counter-proposal)."""
    return service.slot_extras(req) if full else service.public_slot_extras(req)
