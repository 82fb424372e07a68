"""An active emergency asks for more days: the extension is in effect at once, as the activation was, and moves the
slots of other sites in its way as the activation moved them (``test_emergency_at_night.py`` has the approved ones).
Blocked by a fixed slot, an active (planned) site is told what can help (fewer days), never to ask for a later end
(it cannot move)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from service.slots.models import Slot
from service.workflow.models import RequestHistory
from tests.workflow.flow import approved, body_now, get, ok


def emergency(client, owner) -> dict:  # noqa: ANN001
    r = client.post("/v1/requests", headers=owner.headers, json=body_now(
        urgency="emergency", title="Wasserrohrbruch", kind="water", earliest_start="2026-11-21",
        latest_end="2027-08-31", duration_days=30, preferred_start=None))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "active"
    assert (r.json()["slot"]["start"], r.json()["slot"]["end"]) == ("2026-11-21", "2026-12-20")
    return r.json()


def test_an_active_emergency_extends_over_a_merely_proposed_slot_and_moves_it(  # noqa: ANN001
        client, db, city, utility, coordinator) -> None:
    burst = emergency(client, utility)
    r = client.post("/v1/requests", headers=city.headers, json=body_now(
        title="Deckschicht", kind="road_maintenance", earliest_start="2027-01-01", latest_end="2027-12-31",
        duration_days=20, preferred_start="2027-03-01"))
    assert r.status_code == 201, r.text
    surface = r.json()
    assert (surface["slot"]["start"], surface["slot"]["provisional"]) == ("2027-03-01", True)

    r = client.post(f"/v1/requests/{burst['id']}/changes", headers=utility.headers,
                    json={"duration_days": 230, "reason": "Schaden größer als gedacht"})
    assert r.status_code == 201, r.text
    change = r.json()
    assert (change["start"], change["end"], change["status"]) == ("2026-11-21", "2027-07-08", "approved")
    assert change["placement"]["displaces"] == [surface["id"]]
    # in effect at once: nothing left for the coordination office to approve
    r = client.post(f"/v1/requests/{burst['id']}/changes/{change['id']}/approve", headers=coordinator.headers)
    assert r.status_code == 409 and r.json()["type"].endswith("/change-decided"), r.text
    assert get(client, utility, burst["id"])["slot"]["end"] == "2027-07-08"
    moved = get(client, city, surface["id"])
    assert moved["status"] == "slot_proposed"
    assert date.fromisoformat(moved["slot"]["start"]) > date(2027, 7, 8), moved["slot"]
    assert moved["slot"]["explanation"]["displaced_by"] == burst["id"]
    last = db.scalars(select(RequestHistory).where(RequestHistory.request_id == surface["id"])
                      .order_by(RequestHistory.seq.desc())).first()
    assert last.reason_code == "emergency_displacement"


def test_an_active_site_blocked_by_a_fixed_slot_is_told_how_many_days_fit(  # noqa: ANN001
        client, db, city, utility, coordinator) -> None:
    burst = approved(client, utility, coordinator, 0, title="Hausanschluss", kind="water", earliest_start="2026-11-21",
                     latest_end="2027-08-31", duration_days=30, preferred_start=None)
    assert ok(client, utility, burst["id"], "start")["status"] == "active"  # a planned site, set up
    fixed = approved(client, city, coordinator, 40, title="Deckschicht", kind="road_maintenance",
                     earliest_start="2026-11-21", latest_end="2027-06-30", duration_days=10,
                     preferred_start=None)  # 2026-12-31 .. 2027-01-09
    assert db.get(Slot, fixed["id"]).start == date(2026, 12, 31)
    r = client.post(f"/v1/requests/{burst['id']}/changes", headers=utility.headers, json={"duration_days": 60})
    assert r.status_code == 409 and r.json()["type"].endswith("/no-slot"), r.text
    detail = r.json()["detail"]
    assert "later latest_end" not in detail, detail
    assert "at most 40 days" in detail and "2026-12-30" in detail, detail
    assert [c["request_id"] for c in r.json()["conflicts"]] == [fixed["id"]]
