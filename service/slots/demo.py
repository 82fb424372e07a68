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

from shapely.geometry import shape
from shapely.ops import unary_union
from sqlalchemy.orm import Session

from service.kit.example import move_request, years_ahead
from service.kit.time import today
from service.settings import Settings
from service.slots import service


def after_load(session: Session, folder: Path, settings: Settings) -> dict[str, Any]:
    path = folder / "requests.geojson"
    if not path.exists():
        return {}
    features = json.loads(path.read_text("utf-8")).get("features", [])
    start = today(settings)
    years = years_ahead(folder, start)
    ends = [date.fromisoformat(p["latest_end"]) for f in features
            if (p := move_request(f.get("properties") or {}, years)).get("latest_end")]
    shapes = [shape(f["geometry"]) for f in features if f.get("geometry")]
    if not ends or not shapes or max(ends) < start:
        return {}
    end = min(max(ends), date(start.year + 10, 12, 31))
    # the example's own extent: other data in the database (an import, say) is not re-planned by the demo
    bbox = [round(v, 6) for v in unary_union(shapes).bounds]
    params = {"bbox": bbox, "zone": None, "from": start.isoformat(), "to": end.isoformat()}
    run = service.plan_in_session(session, params, settings)
    return {"plan": {"id": str(run.id), "from": params["from"], "to": params["to"], **{
        k: run.stats.get(k) for k in ("placed", "unplaced", "proposed", "unchanged")}}}
