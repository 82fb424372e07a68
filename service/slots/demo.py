"""Plan the Ruhr example once everything is loaded.

Requests get provisional slots one by one as they are loaded, before the example's zones, corridors,
moratoriums and blackouts exist; some of those slots break a rule loaded afterwards. A full plan over the
example's period, run here before the coordination office's decisions (``workflow/demo.py``, later in
``DOMAINS``), moves them, so that what the office approves respects every rule. Safe to run twice: approved
slots are fixed tasks of the second plan.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from service.kit.time import today
from service.settings import Settings
from service.slots import service


def after_load(session: Session, folder: Path, settings: Settings) -> dict[str, Any]:
    path = folder / "requests.geojson"
    if not path.exists():
        return {}
    props = [f.get("properties") or {} for f in json.loads(path.read_text("utf-8")).get("features", [])]
    ends = [date.fromisoformat(p["latest_end"]) for p in props if p.get("latest_end")]
    start = today(settings)
    if not ends or max(ends) < start:
        return {}
    end = min(max(ends), date(start.year + 10, 12, 31))
    params = {"bbox": list(settings.service_area), "zone": None, "from": start.isoformat(), "to": end.isoformat()}
    run = service.plan_in_session(session, params, settings)
    return {"plan": {"id": str(run.id), "from": params["from"], "to": params["to"], **{
        k: run.stats.get(k) for k in ("placed", "unplaced", "proposed", "unchanged")}}}
