"""Helpers shared by the notices tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.notices.models import Delivery, Notice, Subscription

# Rüttenscheider Straße, Essen: the test site of tests/conftest.site_body lies around here.
NEAR_SITE = [7.0006, 51.4390]
FAR_AWAY = [7.4650, 51.5140]  # Dortmund


def sub_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "email": "info@baeckerei-example.de",
        "area": {"point": NEAR_SITE, "radius_m": 300},
        "kinds": [], "min_impact": None, "modes": [], "lead_days": 14, "delivery": "immediate",
        "language": "de", "webhooks": [],
    }
    body.update(overrides)
    return body


def subscribe(client, db: Session, confirm: bool = True, headers: dict | None = None,  # noqa: ANN001
              **overrides: Any) -> Subscription:
    r = client.post("/v1/subscriptions", json=sub_body(**overrides), headers=headers or {})
    assert r.status_code == 202, r.text
    sub = db.get(Subscription, r.json()["id"])
    assert sub is not None
    if confirm:
        c = client.get("/v1/subscriptions/confirm", params={"token": sub.confirm_token})
        assert c.status_code == 200, c.text
        db.refresh(sub)
        assert sub.status == "active"
    return sub


def notices_of(db: Session, sub_id: Any) -> list[Notice]:
    db.expire_all()
    return list(db.scalars(select(Notice).where(Notice.subscription_id == sub_id).order_by(Notice.seq)))


def deliveries(db: Session) -> list[Delivery]:
    db.expire_all()
    return list(db.scalars(select(Delivery)))
