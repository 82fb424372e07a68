"""Helpers that drive requests through the workflow over the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import service as auth
from service.auth.service import Principal
from service.events.models import Event
from service.kit.time import today as service_today
from service.settings import Settings
from service.workflow.models import RequestHistory
from tests.conftest import site_body


def new_principal(session: Session, kind: str, role: str, name: str) -> Principal:
    """A new organisation with a key, as the service layer sees its caller (for tests that call services in
    transactions of their own rather than over the API)."""
    org = auth.create_organisation(session, name=name, kind=kind)
    key, _ = auth.create_key(session, org_id=org.id, role=role)
    return Principal(org_id=org.id, org_name=name, org_kind=kind, role=role, key_id=key.id)


def today() -> date:
    return service_today(Settings())


def d(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def body_now(**overrides: Any) -> dict:
    """A request whose window starts today: 10 days inside the next 90."""
    base = {"earliest_start": d(0), "latest_end": d(89), "duration_days": 10, "preferred_start": None}
    base.update(overrides)
    return site_body(**base)


def create(client, caller, **overrides: Any) -> dict:  # noqa: ANN001
    r = client.post("/v1/requests", json=body_now(**overrides), headers=caller.headers)
    assert r.status_code == 201, r.text
    return r.json()


def act(client, caller, rid: str, action: str, body: dict | None = None, **headers: str):  # noqa: ANN001, ANN201
    return client.post(f"/v1/requests/{rid}/{action}", json=body, headers={**caller.headers, **headers})


def ok(client, caller, rid: str, action: str, body: dict | None = None, **headers: str) -> dict:  # noqa: ANN001
    r = act(client, caller, rid, action, body, **headers)
    assert r.status_code == 200, r.text
    return r.json()


def get(client, caller, rid: str) -> dict:  # noqa: ANN001
    """GET /v1/requests/{rid} as ``caller``; it must answer 200."""
    r = client.get(f"/v1/requests/{rid}", headers=caller.headers)
    assert r.status_code == 200, r.text
    return r.json()


def patch(client, caller, rid: str, body: dict):  # noqa: ANN001, ANN201
    """PATCH /v1/requests/{rid} with the request's current ETag."""
    etag = client.get(f"/v1/requests/{rid}", headers=caller.headers).headers["etag"]
    return client.patch(f"/v1/requests/{rid}", json=body, headers={**caller.headers, "If-Match": etag})


def approved(client, owner, coordinator, start_offset: int = 0, **overrides: Any) -> dict:  # noqa: ANN001
    req = create(client, owner, **overrides)
    ok(client, coordinator, req["id"], "propose", {"start": d(start_offset)})
    ok(client, owner, req["id"], "accept")
    return ok(client, coordinator, req["id"], "approve")


def events(db, rid: str) -> list[Event]:  # noqa: ANN001
    return list(db.scalars(select(Event).where(Event.request_id == rid).order_by(Event.id)))


def history(db, rid: str) -> list[RequestHistory]:  # noqa: ANN001
    return list(db.scalars(select(RequestHistory).where(RequestHistory.request_id == rid)
                           .order_by(RequestHistory.seq)))
