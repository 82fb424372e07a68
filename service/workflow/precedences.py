"""Precedences (``after`` lists) against the other request's slot, for the coordinator's manual steps: a slot
proposed by hand, approved (at the proposed or another start) or given by an approved change after approval.

A precedence says the successor starts at least ``min_gap_days`` and at most ``max_gap_days`` whole days after
the predecessor's last day (the gap is the number of days between the two; 0: the day after). Against the
other side's fixed slot (``locked`` or ``approved``) a slot that breaks it is refused unless the coordinator
overrides; against a merely ``proposed`` one it is only a warning (that slot may still move). Pure functions
of the stored links (``repository.precedence_partners``) and the dates; the texts are German and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from service.slots.explanations import date_de, date_en

FIXED = ("locked", "approved")
SLOT_WORDS = {"proposed": ("vorgeschlagen", "proposed"), "locked": ("festgelegt", "locked"),
              "approved": ("genehmigt", "approved")}


@dataclass(frozen=True)
class Broken:
    """What the stored precedences say about a slot ``[start, end]``: the links it breaks against fixed slots
    (``fixed``: refused unless overridden) and against proposed ones (``proposed``: warnings)."""

    fixed: list[dict[str, Any]]
    proposed: list[dict[str, Any]]


def start_bounds(direction: str, other_start: date, other_end: date, min_gap: int, max_gap: int | None,
                 duration: int) -> tuple[date | None, date | None]:
    """The first and last start (``None``: unbounded) a request of ``duration`` days may take when it comes
    ``direction`` (``after`` or ``before``) the other request's slot ``[other_start, other_end]``."""
    if direction == "after":  # other_end + min_gap + 1 <= start <= other_end + max_gap + 1
        earliest = other_end + timedelta(days=min_gap + 1)
        latest = other_end + timedelta(days=max_gap + 1) if max_gap is not None else None
        return earliest, latest
    # our end + min_gap + 1 <= other_start <= our end + max_gap + 1, and our end = start + duration - 1
    latest = other_start - timedelta(days=min_gap + duration)
    earliest = other_start - timedelta(days=max_gap + duration) if max_gap is not None else None
    return earliest, latest


def broken(rows: list[Any], request_id: Any, start: date, end: date) -> Broken:
    """The links of ``rows`` (``repository.precedence_partners`` of ``request_id``) a slot ``[start, end]``
    breaks, each with both request ids, the other's slot, the start bounds it needs and a sentence."""
    duration = (end - start).days + 1
    fixed, proposed = [], []
    for row in rows:
        earliest, latest = start_bounds(row.direction, row.start, row.end, row.min_gap_days, row.max_gap_days,
                                        duration)
        if (earliest is None or start >= earliest) and (latest is None or start <= latest):
            continue
        ours, other = str(request_id), str(row.other_id)
        item = {
            "request_id": other, "title": row.title, "order": row.direction,
            "predecessor": other if row.direction == "after" else ours,
            "successor": ours if row.direction == "after" else other,
            "min_gap_days": row.min_gap_days, "max_gap_days": row.max_gap_days,
            "slot": {"start": row.start.isoformat(), "end": row.end.isoformat(), "status": row.slot_status},
            "earliest_start": earliest.isoformat() if earliest else None,
            "latest_start": latest.isoformat() if latest else None,
            **text(row.direction, row.title, row.slot_status, row.start, row.end, row.min_gap_days,
                   row.max_gap_days, earliest, latest),
        }
        (fixed if row.slot_status in FIXED else proposed).append(item)
    return Broken(fixed, proposed)


def _dative_days(n: int) -> tuple[str, str]:
    return ("1 Tag", "1 day") if n == 1 else (f"{n} Tagen", f"{n} days")


def _gap(min_gap: int, max_gap: int | None) -> tuple[str, str]:
    lo_de, lo_en = _dative_days(min_gap)
    if max_gap is None:
        if min_gap == 0:
            return "ohne Überschneidung", "without overlap"
        return f"mit mindestens {lo_de} Abstand", f"with at least {lo_en} between"
    hi_de, hi_en = _dative_days(max_gap)
    if min_gap == max_gap:
        return f"mit genau {hi_de} Abstand", f"with exactly {hi_en} between"
    if min_gap == 0:
        return f"mit höchstens {hi_de} Abstand", f"with at most {hi_en} between"
    return f"mit {min_gap} bis {hi_de} Abstand", f"with {min_gap} to {hi_en} between"


def _range(earliest: date | None, latest: date | None) -> tuple[str, str]:
    if earliest is not None and latest is not None:
        return (f"Beginn frühestens am {date_de(earliest)}, spätestens am {date_de(latest)}",
                f"start between {date_en(earliest)} and {date_en(latest)}")
    if earliest is not None:
        return f"Beginn frühestens am {date_de(earliest)}", f"start on {date_en(earliest)} at the earliest"
    assert latest is not None
    return f"Beginn spätestens am {date_de(latest)}", f"start by {date_en(latest)} at the latest"


def text(direction: str, title: str, slot_status: str, start: date, end: date, min_gap: int,
         max_gap: int | None, earliest: date | None, latest: date | None) -> dict[str, str]:
    """One sentence each: which site the works follow or precede, its slot, the gap, the starts it allows."""
    s_de, s_en = SLOT_WORDS.get(slot_status, (slot_status, slot_status))
    g_de, g_en = _gap(min_gap, max_gap)
    r_de, r_en = _range(earliest, latest)
    p_de, p_en = f"{date_de(start)}–{date_de(end)}", f"{date_en(start)} – {date_en(end)}"
    if direction == "after":
        return {"de": f"Die Arbeiten folgen auf „{title}“ ({s_de} {p_de}) {g_de}: {r_de}.",
                "en": f"The works come after “{title}” ({s_en} {p_en}) {g_en}: {r_en}."}
    return {"de": f"Die Arbeiten gehen „{title}“ ({s_de} {p_de}) voraus, {g_de}: {r_de}.",
            "en": f"The works come before “{title}” ({s_en} {p_en}) {g_en}: {r_en}."}


def overridden_text(n: int) -> dict[str, str]:
    """What a slot's summary adds when its approval overrode ``n`` precedences against fixed slots."""
    if n == 1:
        return {"de": "Trotz einer nicht eingehaltenen Reihenfolge gegenüber genehmigten oder festgelegten Terminen "
                      "genehmigt.",
                "en": "Approved despite 1 broken precedence with approved or locked slots."}
    return {"de": f"Trotz {n} nicht eingehaltener Reihenfolgen gegenüber genehmigten oder festgelegten Terminen "
                  "genehmigt.",
            "en": f"Approved despite {n} broken precedences with approved or locked slots."}
