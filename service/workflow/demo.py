"""The coordination office's decisions in ``examples/ruhr/decisions.json``.

They run after every domain has loaded its part of the example (conflict rules included), through the same
``approve`` step the API uses: a decision whose slot clashes with an approved one is skipped, not forced.
Without them the demo would have no approved site, and the open-data feeds would stay empty. Safe to run twice:
a request that is no longer undecided is left alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from service.auth import service as auth
from service.auth.models import Role
from service.kit.problems import Problem
from service.requests import repository as requests_repository
from service.settings import Settings
from service.workflow import service
from service.workflow.schemas import ActionBody
from service.workflow.states import TRANSITIONS

REASON = ("Beispieldaten: von der Koordinierungsstelle genehmigt / "
          "example data: approved by the coordination office")


def after_load(session: Session, folder: Path, settings: Settings) -> dict[str, Any]:
    path = folder / "decisions.json"
    if not path.exists():
        return {}
    decisions = json.loads(path.read_text("utf-8"))
    coordinator = auth.find_organisation(session, decisions["coordinator"])
    if coordinator is None:
        return {"approved": 0, "skipped": [("*", f"no organisation named {decisions['coordinator']!r}")]}
    principal = auth.system_principal(coordinator, Role.coordinator)
    approved, skipped = 0, []
    for item in decisions.get("approve", []):
        label = item["external_id"]
        owner = auth.find_organisation(session, item["owner_org"])
        req = requests_repository.get_by_external_id(session, owner.id, label) if owner else None
        if req is None:
            skipped.append((label, "no such request"))
            continue
        if req.status not in TRANSITIONS["approve"].sources:
            continue  # decided already (a second run, or a person acted on it)
        try:
            with session.begin_nested():
                service.approve(session, principal, req.id, ActionBody(reason=REASON), settings, if_match=None)
        except Problem as exc:
            skipped.append((label, str(exc)))
            continue
        approved += 1
    return {"approved": approved, "skipped": skipped}
