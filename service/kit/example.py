"""The bundled example moves with the calendar.

``examples/ruhr`` is written for 2027–2028. Once its first window would start before today, ``baustellen demo
load`` moves every date of it by the same whole number of years, so the example always lies ahead and its
blackouts stay at their season (Christmas trade stays before Christmas). A 29 February becomes the 28th; a
window that loses that day is lengthened at its end so that every request still fits as written.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from service.kit.time import years_after

REQUEST_DATES = ("earliest_start", "latest_end", "preferred_start")
RULE_DATES = ("start", "end")


def _first_start(path: Path) -> date | None:
    if not path.exists():
        return None
    starts = [date.fromisoformat(p["earliest_start"]) for f in json.loads(path.read_text("utf-8")).get("features", [])
              if (p := f.get("properties") or {}).get("earliest_start")]
    return min(starts, default=None)


def years_ahead(folder: Path, today: date) -> int:
    """How many years the example in ``folder`` moves so that no request's window starts before ``today``."""
    first = _first_start(folder / "requests.geojson")
    if first is None:
        return 0
    years = 0
    while years_after(first, years) < today:
        years += 1
    return years


def _moved(value: Any, years: int) -> Any:
    return years_after(date.fromisoformat(value), years).isoformat() if isinstance(value, str) else value


def move_rule(props: dict[str, Any], years: int) -> dict[str, Any]:
    """A moratorium's or blackout's properties with ``start`` and ``end`` moved by ``years``."""
    if not years:
        return props
    return {**props, **{k: _moved(props[k], years) for k in RULE_DATES if k in props}}


def move_request(props: dict[str, Any], years: int) -> dict[str, Any]:
    """A request's properties with its window and preferred start moved by ``years``."""
    if not years:
        return props
    out = {**props, **{k: _moved(props[k], years) for k in REQUEST_DATES if k in props}}
    duration = out.get("duration_days")
    if isinstance(duration, int) and out.get("earliest_start") and out.get("latest_end"):
        last = date.fromisoformat(out["latest_end"])
        for first in (out["earliest_start"], out.get("preferred_start")):
            if first:
                last = max(last, date.fromisoformat(first) + timedelta(days=duration - 1))
        out["latest_end"] = last.isoformat()
    return out
