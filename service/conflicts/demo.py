"""Load the conflict rules of ``examples/ruhr`` (zones, corridors, moratoriums, blackouts) by name, then
refresh the conflicts of every request. Safe to run twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from service.conflicts import repository, service
from service.kit.example import move_rule, years_ahead
from service.kit.time import today
from service.settings import Settings

FILES = (("zone", "zones.geojson"), ("corridor", "corridors.geojson"), ("moratorium", "moratoriums.geojson"),
         ("blackout", "blackouts.geojson"))


def load(session: Session, folder: Path, settings: Settings) -> dict[str, Any]:
    created: dict[str, Any] = {}
    years = years_ahead(folder, today(settings))
    for rule, filename in FILES:
        path = folder / filename
        if not path.exists():
            continue
        n = 0
        for feature in json.loads(path.read_text("utf-8")).get("features", []):
            props = move_rule(dict(feature.get("properties") or {}), years)
            if repository.get_rule_by_name(session, rule, props.get("name", "")) is not None:
                continue
            props.pop("owner_org", None)
            service.create_rule(session, rule, {**props, "geometry": feature.get("geometry")}, settings)
            n += 1
        created[rule] = n
    created["refresh"] = service.refresh_all(session, settings=settings)
    return created
