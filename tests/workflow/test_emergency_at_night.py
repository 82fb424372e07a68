"""A water utility's on-call engineer at night: the burst main needs more days than reported, or the emergency was
reported by mistake. An active emergency's change of dates is in effect at once (no coordinator at 02:30) and moves
even approved sites in its way, as its activation did; a mistaken emergency is cancelled (owner or coordination
office, with a reason) and the sites it displaced get their dates back. A second change while one is pending names
the pending one and how to take it back; the coordination office finds the requests with a pending change."""

from __future__ import annotations

from datetime import date

from service.slots.models import Slot
from tests.workflow.flow import act, approved, body_now, create, events, get, history, ok


def emergency(client, owner, days: int = 30, **overrides) -> dict:  # noqa: ANN001, ANN003
    r = client.post("/v1/requests", headers=owner.headers, json=body_now(**{
        "urgency": "emergency", "title": "Wasserrohrbruch", "kind": "water", "earliest_start": "2026-11-21",
        "latest_end": "2027-08-31", "duration_days": days, "preferred_start": None, **overrides}))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "active"
    return r.json()


def test_an_emergency_extension_is_in_effect_at_once_and_moves_an_approved_site(  # noqa: ANN001
        client, db, city, utility, coordinator) -> None:
    burst = emergency(client, utility)  # 2026-11-21 .. 2026-12-20
    fixed = approved(client, city, coordinator, 30, title="Deckschicht", kind="road_maintenance",
                     earliest_start="2026-11-21", latest_end="2027-06-30", duration_days=10,
                     preferred_start=None)  # 2026-12-21 .. 2026-12-30, right after the emergency
    r = client.post(f"/v1/requests/{burst['id']}/changes", headers=utility.headers,
                    json={"duration_days": 40, "reason": "Schaden größer als gedacht"})
    assert r.status_code == 201, r.text
    change = r.json()
    assert (change["status"], change["start"], change["end"]) == ("approved", "2026-11-21", "2026-12-30")
    assert change["decision_reason_code"] == "emergency_extension" and change["decided_at"]
    assert change["placement"]["displaces"] == [fixed["id"]]
    assert change["conflicts"] == []

    now = get(client, utility, burst["id"])
    assert (now["status"], now["duration_days"], now["slot"]["end"]) == ("active", 40, "2026-12-30")
    assert now["slot"]["explanation"]["change"] == "extended"
    assert now["slot"]["explanation"]["summary"]["de"].startswith("Notfall: Verlängert")

    moved = get(client, city, fixed["id"])  # displaced as by the activation: new dates after the emergency
    assert date.fromisoformat(moved["slot"]["start"]) > date(2026, 12, 30), moved["slot"]
    assert moved["slot"]["explanation"]["displaced_by"] == burst["id"]

    # the coordination office reviews it afterwards: the owner asked, the system approved
    rows = history(db, burst["id"])[-2:]
    assert [(h.action, h.actor) for h in rows] == [("change.requested", "owner"), ("change.approved", "system")]
    assert rows[-1].reason_code == "emergency_extension"
    kinds = [e.kind for e in events(db, burst["id"])]
    assert kinds[-2:] == ["change.requested", "change.approved"]
    assert events(db, burst["id"])[-1].payload["displaced"] == [fixed["id"]]
    assert client.get(f"/v1/requests/{burst['id']}/changes", headers=coordinator.headers).json()[0]["status"] == (
        "approved")


def test_an_emergency_extension_needs_its_window(client, utility) -> None:  # noqa: ANN001
    burst = emergency(client, utility, latest_end="2026-12-31")
    r = client.post(f"/v1/requests/{burst['id']}/changes", headers=utility.headers, json={"duration_days": 45})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "duration_days", r.text  # the window is short
    r = client.post(f"/v1/requests/{burst['id']}/changes", headers=utility.headers, json={"latest_end": "2026-12-25"})
    assert r.status_code == 201 and r.json()["status"] == "approved", r.text  # a window change only: at once too
    assert get(client, utility, burst["id"])["slot"]["end"] == "2026-12-20"  # nothing changed


def test_the_owner_cancels_a_mistaken_emergency_and_the_displaced_sites_get_their_dates_back(  # noqa: ANN001
        client, db, city, utility, coordinator) -> None:
    fixed = approved(client, city, coordinator, 5, title="Deckschicht", kind="road_maintenance",
                     earliest_start="2026-11-21", latest_end="2027-06-30", duration_days=10,
                     preferred_start=None)  # 2026-11-26 .. 2026-12-05
    offered = create(client, city, title="Gasleitung", kind="gas", earliest_start="2026-11-21",
                     latest_end="2027-06-30", duration_days=10)
    ok(client, coordinator, offered["id"], "propose", {"start": "2026-11-29"})  # 2026-11-29 .. 2026-12-08
    tight = create(client, city, title="Leitungsbau", kind="telecom", earliest_start="2026-11-21",
                   latest_end="2026-12-10", duration_days=10)  # submitted, a provisional slot in 20 days
    burst = emergency(client, utility)
    for rid in (fixed["id"], offered["id"]):
        assert date.fromisoformat(get(client, city, rid)["slot"]["start"]) > date(2026, 12, 20)
    assert db.get(Slot, tight["id"]).status == "unplaced"  # no room left in its window

    # neither withdraw nor complete is the way out; the 409 names cancel
    r = act(client, utility, burst["id"], "withdraw", {"reason": "falsche Straße"})
    assert r.status_code == 409 and r.json()["allowed"] == ["complete", "cancel"], r.text
    assert client.get(f"/v1/requests/{burst['id']}/actions", headers=coordinator.headers).json()["allowed"] == [
        "cancel"]
    r = act(client, utility, burst["id"], "cancel")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason", r.text
    assert act(client, city, burst["id"], "cancel", {"reason": "x"}).status_code == 403

    cancelled = ok(client, utility, burst["id"], "cancel", {"reason": "Falsche Straße gemeldet"})
    assert cancelled["status"] == "withdrawn"
    db.expire_all()
    assert db.get(Slot, burst["id"]) is None
    last = events(db, burst["id"])[-1]
    assert (last.kind, last.payload["action"], last.payload["reason"]) == (
        "request.withdrawn", "cancel", "Falsche Straße gemeldet")

    back = get(client, city, fixed["id"])  # the approved works: their approved dates again
    assert (back["status"], back["slot"]["start"], back["slot"]["end"], back["slot"]["status"]) == (
        "approved", "2026-11-26", "2026-12-05", "approved")
    assert back["slot"]["explanation"]["restored_after"] == burst["id"]
    assert "storniert" in back["slot"]["explanation"]["summary"]["de"]
    assert history(db, fixed["id"])[-1].action == "restore"
    assert events(db, fixed["id"])[-1].kind == "slot.displaced"

    again = get(client, city, offered["id"])  # the proposal: its dates proposed again, for the owner to answer
    assert (again["status"], again["slot"]["start"], again["slot"]["status"]) == (
        "slot_proposed", "2026-11-29", "proposed")
    assert history(db, offered["id"])[-1].action == "restore"
    assert client.get(f"/v1/requests/{offered['id']}/actions", headers=city.headers).json()["deadline"]["party"] == (
        "owner")

    placed = db.get(Slot, tight["id"])  # left unplaced by the emergency: placed again (place_unblocked)
    db.refresh(placed)
    assert placed.status == "proposed" and placed.start is not None


def test_the_coordination_office_cancels_an_emergency_and_planned_active_sites_cannot_be_cancelled(  # noqa: ANN001
        client, db, city, utility, coordinator) -> None:
    burst = emergency(client, utility)
    assert ok(client, coordinator, burst["id"], "cancel", {"reason": "Doppelt gemeldet"})["status"] == "withdrawn"
    rows = history(db, burst["id"])
    assert (rows[-1].action, rows[-1].actor) == ("cancel", "coordinator")

    planned = approved(client, city, coordinator, 0)
    ok(client, city, planned["id"], "start")
    r = act(client, city, planned["id"], "cancel", {"reason": "x"})
    assert r.status_code == 409 and r.json()["allowed"] == ["complete"], r.text
    assert "urgency emergency" in r.json()["detail"]


def test_a_second_change_names_the_pending_one_and_how_to_take_it_back(  # noqa: ANN001
        client, city, coordinator) -> None:
    site = approved(client, city, coordinator, 10)
    r = client.post(f"/v1/requests/{site['id']}/changes", headers=city.headers, json={"duration_days": 12})
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    r = client.post(f"/v1/requests/{site['id']}/changes", headers=city.headers, json={"duration_days": 14})
    assert r.status_code == 409 and r.json()["type"].endswith("/change-pending"), r.text
    problem = r.json()
    url = f"/v1/requests/{site['id']}/changes/{first}"
    assert (problem["change_id"], problem["change_url"], problem["withdraw_url"]) == (first, url, f"{url}/withdraw")
    assert f"POST {url}/withdraw" in problem["detail"]
    assert client.post(problem["withdraw_url"], headers=city.headers, json={}).status_code == 200
    assert client.post(f"/v1/requests/{site['id']}/changes", headers=city.headers,
                       json={"duration_days": 14}).status_code == 201


def test_requests_with_a_pending_change_are_listed_for_their_owner_and_the_coordinators(  # noqa: ANN001
        client, city, utility, coordinator) -> None:
    waiting = approved(client, city, coordinator, 10)
    calm = approved(client, city, coordinator, 40)
    r = client.post(f"/v1/requests/{waiting['id']}/changes", headers=city.headers, json={"duration_days": 12})
    assert r.status_code == 201, r.text

    def ids(caller, value: str) -> set[str]:  # noqa: ANN001
        r = client.get("/v1/requests", params={"pending_change": value}, headers=caller.headers)
        assert r.status_code == 200, r.text
        return {f["id"] for f in r.json()["features"]}

    assert ids(coordinator, "true") == {waiting["id"]}
    assert ids(city, "true") == {waiting["id"]}
    assert calm["id"] in ids(city, "false") and waiting["id"] not in ids(city, "false")
    assert ids(utility, "true") == set() and ids(utility, "false") == set()  # another organisation's: not theirs
