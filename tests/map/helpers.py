"""Arrange sites straight in the database (validated like the API does), without the other domains' hooks:
the map only reads, so its tests do not depend on how conflicts and slots are computed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from service.requests.models import SiteRequest
from service.requests.schemas import RequestWrite
from service.requests.service import prepare
from service.settings import Settings
from tests.conftest import site_body


def add_site(session: Session, owner_id: uuid.UUID, *, status: str = "submitted", **overrides: Any) -> SiteRequest:
    body = RequestWrite.model_validate(site_body(**overrides))
    prepared = prepare(body, Settings())
    req = SiteRequest(owner_id=owner_id, status=status, source="test", geometry_notes=[], **prepared.values)
    session.add(req)
    session.flush()
    return req
