"""Helpers for the feed tests: publish a request directly in the database (the workflow is built elsewhere)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from service.requests.models import SiteRequest
from service.settings import Settings
from service.slots.models import Slot
from tests.conftest import site_body

STANDARDS = Settings().shared_data_dir / "standards"


def standards_dir() -> Path:
    return STANDARDS


@pytest.fixture
def make_site(client, db: Session) -> Callable[..., SiteRequest]:  # noqa: ANN001
    """``make_site(caller, status="approved", slot=(start, end), **body)``: create through the API, then set the
    status (and a slot) directly."""

    def _make(caller, status: str = "approved", slot: tuple[date, date] | None = None,  # noqa: ANN001
              slot_status: str = "approved", **overrides) -> SiteRequest:  # noqa: ANN003
        response = client.post("/v1/requests", json=site_body(**overrides), headers=caller.headers)
        assert response.status_code == 201, response.text
        req = db.get(SiteRequest, uuid.UUID(response.json()["id"]))
        db.refresh(req)
        req.status = status
        existing = db.get(Slot, req.id)
        if slot is not None:
            if existing is None:
                db.add(Slot(request_id=req.id, start=slot[0], end=slot[1], status=slot_status))
            else:
                existing.start, existing.end, existing.status = slot[0], slot[1], slot_status
        elif existing is not None:  # a slot placed by the slots domain's hook: keep the test independent of it
            db.delete(existing)
        db.flush()
        return req

    return _make


@pytest.fixture
def later(monkeypatch) -> Callable[..., None]:  # noqa: ANN001
    """``later(seconds=2)``: the feeds' clock (``service.wall_clock``: the generation time, the server's "now") runs
    that much ahead of the real one, as if the next request came that much later. Two changes of a feed within one
    second record the second a second ahead (HTTP dates have whole seconds), and Last-Modified is never after the
    generation time (RFC 9110 §8.8.2.1): a test that wants to see Last-Modified move takes a step forward."""
    from service.feeds import service
    from service.kit.time import wall_clock as real

    offset = {"seconds": 0.0}
    monkeypatch.setattr(service, "wall_clock", lambda settings: real(settings) + timedelta(seconds=offset["seconds"]),
                        raising=False)

    def step(seconds: float = 2.0) -> None:
        offset["seconds"] += seconds

    return step
