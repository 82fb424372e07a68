"""Stored conflicts follow the slot a new request gets at once, not its wider window."""

from __future__ import annotations

from typing import Any

from tests.conflicts.helpers import line
from tests.conftest import site_body

WIDE = {"earliest_start": "2027-04-01", "latest_end": "2027-09-30", "duration_days": 30,
        "preferred_start": "2027-04-01"}


def post(client, caller, **overrides: Any) -> dict:  # noqa: ANN001
    r = client.post("/v1/requests", json=site_body(**WIDE, **overrides), headers=caller.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_conflicts_are_computed_after_the_provisional_slot(client, city, utility) -> None:  # noqa: ANN001
    a = post(client, city, geometry=line(0, 0))
    b = post(client, utility, geometry=line(0, 30), kind="water")
    slot_a = client.get(f"/v1/requests/{a['id']}", headers=city.headers).json()["slot"]
    slot_b = client.get(f"/v1/requests/{b['id']}", headers=utility.headers).json()["slot"]
    assert slot_a and slot_b, "both requests get a provisional slot at once"
    assert slot_b["start"] > slot_a["end"], "the second site is placed after the first"
    # their windows overlap, their slots do not: no conflict is stored for the pair
    r = client.get(f"/v1/requests/{b['id']}/conflicts", headers=utility.headers)
    assert r.status_code == 200
    assert [c for c in r.json() if c.get("other", {}).get("id") == a["id"]] == []
