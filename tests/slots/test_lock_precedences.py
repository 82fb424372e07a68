"""A lock makes a slot fixed, so it passes what a manual proposal passes: a slot that clashes with approved or
locked slots is refused (409 ``slot-conflict``); against the other request's locked or approved slot a slot that
breaks a precedence (``after`` links) is refused (409 ``precedence``), against a merely proposed one the lock
warns."""

from __future__ import annotations

from datetime import date

from service.slots.explanations import date_de, date_en
from tests.workflow.flow import create, d, history, ok

PROBLEM = "application/problem+json"


def _after(rid: str, min_gap: int = 0, max_gap: int | None = None) -> list[dict]:
    return [{"request": rid, "min_gap_days": min_gap, "max_gap_days": max_gap}]


def _lock(client, coordinator, rid: str):  # noqa: ANN001, ANN202
    return client.post(f"/v1/requests/{rid}/slot/lock", headers=coordinator.headers)


def _pair(client, city, coordinator) -> tuple[dict, dict]:  # noqa: ANN001
    """The trench proposed on days 0..9, the pipe (2 days after the trench) proposed too early, on days 5..14."""
    trench = create(client, city, title="Graben")
    ok(client, coordinator, trench["id"], "propose", {"start": d(0)})
    pipe = create(client, city, title="Leitung", after=_after(trench["id"], 2))
    assert len(ok(client, coordinator, pipe["id"], "propose", {"start": d(5)})["warnings"]) == 1
    return trench, pipe


def test_a_lock_breaking_a_precedence_against_an_approved_slot_is_refused(client, db, city,  # noqa: ANN001
                                                                           coordinator) -> None:
    trench, pipe = _pair(client, city, coordinator)
    ok(client, city, trench["id"], "accept")
    ok(client, coordinator, trench["id"], "approve")  # the pipe is only proposed: the approval merely warns
    r = _lock(client, coordinator, pipe["id"])
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    assert problem["type"].endswith("/precedence")
    (link,) = problem["precedences"]
    assert (link["predecessor"], link["successor"], link["order"]) == (trench["id"], pipe["id"], "after")
    assert link["slot"] == {"start": d(0), "end": d(9), "status": "approved"}
    assert (link["earliest_start"], link["latest_start"]) == (d(12), None)
    twelve = date.fromisoformat(d(12))
    assert f"frühestens am {date_de(twelve)}" in link["de"] and date_en(twelve) in link["en"]
    assert "override" not in problem["detail"] and "propose another start" in problem["detail"]
    # nothing changed: the slot is still a proposal, the history has no lock
    slot = client.get(f"/v1/requests/{pipe['id']}", headers=city.headers).json()["slot"]
    assert (slot["start"], slot["status"]) == (d(5), "proposed")
    assert "slot.locked" not in [h.action for h in history(db, pipe["id"])]
    # at the first start the order allows, the lock passes without warnings
    ok(client, coordinator, pipe["id"], "propose", {"start": d(12)})
    r = _lock(client, coordinator, pipe["id"])
    assert r.status_code == 200, r.text
    assert (r.json()["slot"]["status"], r.json()["warnings"]) == ("locked", [])
    assert "precedence_warnings" not in r.json()["slot"]["explanation"]


def test_a_lock_against_a_proposed_slot_warns_and_then_holds_the_other_side(client, city,  # noqa: ANN001
                                                                            coordinator) -> None:
    trench, pipe = _pair(client, city, coordinator)
    r = _lock(client, coordinator, pipe["id"])
    assert r.status_code == 200, r.text
    locked = r.json()
    assert locked["slot"]["status"] == "locked"
    (warning,) = locked["warnings"]
    assert "„Graben“ (vorgeschlagen" in warning and " / " in warning and "“Graben” (proposed" in warning
    (kept,) = locked["slot"]["explanation"]["precedence_warnings"]
    assert (kept["request_id"], kept["earliest_start"]) == (trench["id"], d(12))
    assert locked["slot"]["explanation"]["locked_by"] == str(coordinator.org_id)
    # the pipe's slot is fixed now: the trench cannot be locked where it would end too late for it
    r = _lock(client, coordinator, trench["id"])
    assert r.status_code == 409 and r.json()["type"].endswith("/precedence"), r.text
    (link,) = r.json()["precedences"]
    assert (link["order"], link["slot"]["status"], link["latest_start"]) == ("before", "locked", d(-7))
    assert client.get(f"/v1/requests/{trench['id']}", headers=city.headers).json()["slot"]["status"] == "proposed"
    # unlocking asks nothing and warns of nothing
    r = client.post(f"/v1/requests/{pipe['id']}/slot/unlock", headers=coordinator.headers)
    assert r.status_code == 200 and r.json()["warnings"] == [] and r.json()["slot"]["status"] == "proposed"
    assert _lock(client, coordinator, trench["id"]).status_code == 200  # the pipe may still move


def test_a_lock_clashing_with_an_approved_or_locked_slot_is_refused(client, db, city, utility,  # noqa: ANN001
                                                                    coordinator) -> None:
    """Two owners on the same street: the city's works are proposed first (days 0..9), the utility's overlap them
    (days 5..14). Once the city's slot is approved, the utility's slot cannot be locked where it is; a slot that
    no longer clashes can. Locking a slot clashing with a locked one is refused in the same way."""
    street = create(client, city, title="Fahrbahn")
    ok(client, coordinator, street["id"], "propose", {"start": d(0)})
    pipe = create(client, utility, title="Gasleitung")
    ok(client, coordinator, pipe["id"], "propose", {"start": d(5)})  # the street's slot is only proposed
    assert _lock(client, coordinator, pipe["id"]).status_code == 200  # a proposed slot does not stop a lock
    r = _lock(client, coordinator, street["id"])  # but a locked one does
    assert r.status_code == 409 and r.json()["type"].endswith("/slot-conflict"), r.text
    assert [c["request_id"] for c in r.json()["conflicts"]] == [pipe["id"]]
    assert r.json()["conflicts"][0]["slot_status"] == "locked"
    assert client.post(f"/v1/requests/{pipe['id']}/slot/unlock", headers=coordinator.headers).status_code == 200

    ok(client, city, street["id"], "accept")
    ok(client, coordinator, street["id"], "approve")
    before = [h.action for h in history(db, pipe["id"])]
    r = _lock(client, coordinator, pipe["id"])
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    assert problem["type"].endswith("/slot-conflict")
    (clash,) = problem["conflicts"]
    assert (clash["request_id"], clash["slot_status"], clash["start"], clash["end"]) == (
        street["id"], "approved", d(0), d(9))
    assert "propose another start" in problem["detail"] and "override=true" in problem["detail"]
    # nothing changed: still a proposal, no new lock in the history
    slot = client.get(f"/v1/requests/{pipe['id']}", headers=utility.headers).json()["slot"]
    assert (slot["start"], slot["status"]) == (d(5), "proposed")
    assert [h.action for h in history(db, pipe["id"])] == before
    # moved clear of the approved works, the lock passes
    ok(client, coordinator, pipe["id"], "propose", {"start": d(10)})
    r = _lock(client, coordinator, pipe["id"])
    assert r.status_code == 200 and r.json()["slot"]["status"] == "locked", r.text
