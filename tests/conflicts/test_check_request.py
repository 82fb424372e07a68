"""The dry run of a stored request's change (``POST /v1/conflicts/check`` with ``request_id``) against its stored
conflicts: unchanged, it finds what is stored; changed, what the change would bring. Real PostGIS, through the API.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conflicts.helpers import box, line
from tests.conflicts.test_conflicts_api import conflicts, post, rule


def fields(client, caller, rid: str) -> dict[str, Any]:  # noqa: ANN001
    """The request's own fields as a check body, with its slot's dates (its window when it has no slot)."""
    r = client.get(f"/v1/requests/{rid}", headers=caller.headers)
    assert r.status_code == 200, r.text
    req = r.json()
    slot = req["slot"]
    start, end = (slot["start"], slot["end"]) if slot else (req["earliest_start"], req["latest_end"])
    return {"request_id": rid, "earliest_start": start, "latest_end": end,
            **{k: req[k] for k in ("geometry", "impact", "kind", "shift", "urgency", "modes", "diversions",
                                   "replacement_routes", "bundle_with")}}


def check(client, caller, body: dict[str, Any]) -> list[dict]:  # noqa: ANN001
    r = client.post("/v1/conflicts/check", json=body, headers=caller.headers)
    assert r.status_code == 200, r.text
    return r.json()["conflicts"]


def same(items: list[dict], rid: str | None = None) -> list[tuple]:
    """What a stored conflict (of request ``rid``) and a dry-run conflict have in common: the checked side's title
    differs, the dry run names no peak members (the candidate has no id), and in it the checked side is always
    ``a``, while a stored pair keeps its ``_a``/``_b`` facts in the order of the ids."""
    out = []
    for c in items:
        other = (c["other"] or {}).get("id")
        reason = {k: v for k, v in c["reason"].items() if k != "peak_members"}
        if rid is not None and other is not None and other < rid:
            reason = {(k[:-1] + {"a": "b", "b": "a"}[k[-1]] if k[-2:] in ("_a", "_b") else k): v
                      for k, v in reason.items()}
        out.append((c["kind"], c["hard"], other, c["overlap"]["start"], c["overlap"]["end"],
                    json.dumps(reason, sort_keys=True)))
    return sorted(out)


def full_zone(client, city, utility, coordinator) -> tuple[str, str, str, str]:  # noqa: ANN001
    """A zone of capacity 2 filled by the slots of ``a`` (city) and ``b`` (utility); ``c`` found no slot; ``d``,
    a footway closure of the city beside ``a``, is below the zone's threshold (a same-owner information row)."""
    rule(client, coordinator, "zones", {"name": "Rüttenscheid", "capacity": 2, "min_impact": "lane_reduction",
                                        "geometry": box(-2000, -2000, 2000, 2000)})
    a = post(client, city, geometry=line(-1500, 0), impact="lane_reduction")
    b = post(client, utility, geometry=line(0, 0), impact="lane_reduction", kind="water")
    c = post(client, utility, geometry=line(1500, 0), impact="full_closure", kind="gas",
             earliest_start="2027-05-01", latest_end="2027-06-29")
    d = post(client, city, geometry=line(-1500, 20), impact="footway", kind="road_maintenance")
    assert client.get(f"/v1/requests/{c}", headers=utility.headers).json()["slot"] is None
    for rid in (a, b, d):
        assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["slot"] is not None
    return a, b, c, d


def test_an_unchanged_request_checks_as_stored(client, city, utility, coordinator) -> None:  # noqa: ANN001
    """``a`` holds a slot in a full zone: checked with its own fields and its slot's dates it counts as placed, so
    it clashes with the unplaced ``c`` only (not with ``b``, whose slot fits beside it), as stored."""
    a, b, c, d = full_zone(client, city, utility, coordinator)
    stored = conflicts(client, city, a)
    assert sorted((x["kind"], x["other"]["id"]) for x in stored) == [("same_owner", d), ("zone", c)]
    dry = check(client, city, fields(client, city, a))
    assert same(dry) == same(stored, a)
    # the same for b, the utility's
    assert same(check(client, utility, fields(client, utility, b))) == same(conflicts(client, utility, b), b)


def test_a_real_change_still_reports_the_zone(client, city, utility, coordinator) -> None:  # noqa: ANN001
    """Other dates than the slot's (the change would need a new slot) overfill the zone: a clashes with b too."""
    a, b, c, _ = full_zone(client, city, utility, coordinator)
    moved = {**fields(client, city, a), "earliest_start": "2027-04-11", "latest_end": "2027-06-09"}
    zone = sorted(x["other"]["id"] for x in check(client, city, moved) if x["kind"] == "zone")
    assert zone == sorted([b, c])
    # so does a new site with the slot's very dates (it has no slot)
    new = {k: v for k, v in fields(client, city, a).items() if k != "request_id"}
    assert sorted(x["other"]["id"] for x in check(client, city, new) if x["kind"] == "zone") == sorted([a, b, c])


def test_a_coordinator_checks_any_requests_change(client, city, utility, coordinator) -> None:  # noqa: ANN001
    """Coordinators may check a change of any organisation's request, seen as its owner's (the same-owner row
    stays information); others may not use another organisation's request."""
    a, _, _, _ = full_zone(client, city, utility, coordinator)
    body = fields(client, city, a)
    stored = client.get(f"/v1/requests/{a}/conflicts", headers=coordinator.headers).json()
    dry = check(client, coordinator, body)
    assert same(dry) == same(stored, a)
    assert ("same_owner", False) in {(x["kind"], x["hard"]) for x in dry}
    refused = client.post("/v1/conflicts/check", json=body, headers=utility.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "request_id"
    assert "not a request of your organisation" in refused.json()["errors"][0]["detail"]
    missing = client.post("/v1/conflicts/check", json={**body, "request_id": "00000000-0000-4000-8000-000000000000"},
                          headers=coordinator.headers)
    assert missing.status_code == 422 and "does not exist" in missing.json()["errors"][0]["detail"]


def test_others_drafts_count_but_stay_unnamed(client, city, utility, coordinator) -> None:  # noqa: ANN001
    """A draft of another organisation counts for the zone in the stored conflicts (hidden from the city): the dry
    run counts it too, and does not name it."""
    rule(client, coordinator, "zones", {"name": "Holsterhausen", "capacity": 2, "min_impact": "lane_reduction",
                                        "geometry": box(-2000, -2000, 2000, 2000)})
    a = post(client, city, geometry=line(-1500, 0), impact="lane_reduction")
    mine = post(client, city, geometry=line(0, -1500), impact="lane_reduction", status="draft")
    hidden = post(client, utility, geometry=line(1500, 0), impact="lane_reduction", kind="water", status="draft")
    stored = conflicts(client, city, a)
    assert [(x["kind"], x["other"]["id"], x["reason"]["peak"]) for x in stored] == [("zone", mine, 3)]
    dry = check(client, city, fields(client, city, a))
    assert same(dry) == same(stored, a)
    assert hidden not in {(x["other"] or {}).get("id") for x in dry}
