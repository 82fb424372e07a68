"""What the workflow writes on a slot for people to read: an approved change explains the slot it gives,
a manual proposal says who chose it and which rules it breaks (and warns), an approval at other dates and an
emergency explain themselves; no stale plan id stays on a slot no plan chose. And the 409 of a change asked
for too early says what to do instead."""

from __future__ import annotations

import uuid
from datetime import timedelta

from service.slots.models import PlanRun, Slot
from tests.workflow.flow import act, approved, body_now, create, d, ok, today

AREA = {"type": "Polygon", "coordinates": [[[6.99, 51.43], [7.01, 51.43], [7.01, 51.45], [6.99, 51.45],
                                             [6.99, 51.43]]]}


def de(offset: int) -> str:
    return f"{today() + timedelta(days=offset):%d.%m.%Y}"


def _stale_plan(db, rid: str) -> uuid.UUID:  # noqa: ANN001
    """An earlier plan run's explanation and id on the request's slot (as a plan run leaves them)."""
    run = PlanRun(status="done", params={}, progress=1.0, stats={}, fcfs={})
    db.add(run)
    db.flush()
    slot = db.get(Slot, uuid.UUID(rid))
    if slot is None:
        slot = Slot(request_id=uuid.UUID(rid), status="unplaced")
        db.add(slot)
    slot.plan_id = run.id
    slot.explanation = {"method": "plan", "plan_id": str(run.id),
                        "summary": {"de": "14 Tage früher als gewünscht eingeplant: Beginn 01.04.2027 statt "
                                          "15.04.2027.", "en": "Placed 14 days earlier than preferred."}}
    db.flush()
    return run.id


def _slot(client, caller, rid: str) -> dict:  # noqa: ANN001
    return client.get(f"/v1/requests/{rid}", headers=caller.headers).json()["slot"]


def _approve_change(client, owner, coordinator, rid: str, body: dict) -> dict:  # noqa: ANN001
    r = client.post(f"/v1/requests/{rid}/changes", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    done = client.post(f"/v1/requests/{rid}/changes/{r.json()['id']}/approve", json={"reason": "ok"},
                       headers=coordinator.headers)
    assert done.status_code == 200, done.text
    return r.json()


def test_an_approved_extension_explains_the_new_slot_and_drops_the_old_plan(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator)["id"]
    _stale_plan(db, rid)
    change = _approve_change(client, city, coordinator, rid, {"duration_days": 15, "reason": "Mehr Leitungen"})
    slot = _slot(client, city, rid)
    assert (slot["start"], slot["end"], slot["status"]) == (d(0), d(14), "approved")
    assert slot["plan_id"] is None
    ex = slot["explanation"]
    assert (ex["method"], ex["change"], ex["change_id"]) == ("change", "extended", change["id"])
    assert ex["previous"] == {"start": d(0), "end": d(9)}
    assert ex["summary"]["de"] == (f"Verlängert durch die genehmigte Änderung: {de(0)}–{de(14)} "
                                   f"(bisher {de(0)}–{de(9)}). Begründung: „Mehr Leitungen“.")
    assert ex["summary"]["en"].startswith("Extended by the approved change: ")
    assert ex["summary"]["en"].endswith("Reason: “Mehr Leitungen”.")
    assert "statt" not in ex["summary"]["de"] and "plan_id" not in ex


def test_an_approved_change_that_moves_the_site_says_so(client, db, city, utility, coordinator) -> None:  # noqa: ANN001
    a = approved(client, city, coordinator)["id"]
    approved(client, utility, coordinator, start_offset=20)
    change = _approve_change(client, city, coordinator, a, {"duration_days": 25})
    assert (change["start"], change["end"]) == (d(30), d(54))
    ex = _slot(client, city, a)["explanation"]
    assert ex["change"] == "moved"
    assert ex["summary"]["de"] == (f"Verschoben durch die genehmigte Änderung: {de(30)}–{de(54)} "
                                   f"(bisher {de(0)}–{de(9)}).")


def test_a_manual_proposal_explains_itself_and_warns_of_the_rules_it_breaks(client, db, city, coordinator) -> None:  # noqa: ANN001
    for path, body in (("blackouts", {"name": "Weihnachtsmarkt", "geometry": None, "start": d(-1), "end": d(40),
                                      "max_impact": "lane_reduction"}),
                       ("moratoriums", {"name": "Neu asphaltiert", "geometry": AREA, "start": d(10), "end": d(70)})):
        assert client.post(f"/v1/{path}", json=body, headers=coordinator.headers).status_code == 201
    rid = create(client, city)["id"]
    _stale_plan(db, rid)
    r = act(client, coordinator, rid, "propose", {"start": d(5), "reason": "Abstimmung mit Anwohnern",
                                                  "explanation": {"summary": "siehe Protokoll", "ticket": 7}})
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    assert len(warnings) == 2
    assert any("Sperrzeit „Weihnachtsmarkt“" in w and "blackout “Weihnachtsmarkt”" in w for w in warnings)
    assert any("Aufbruchverbot „Neu asphaltiert“" in w and "moratorium “Neu asphaltiert”" in w for w in warnings)
    slot = r.json()["slot"]
    assert slot["plan_id"] is None and slot["status"] == "proposed"
    ex = slot["explanation"]
    assert ex["manual"] is True and ex["method"] == "manual" and (ex["note"], ex["ticket"]) == ("siehe Protokoll", 7)
    assert {c["name"] for c in ex["rule_conflicts"]} == {"Weihnachtsmarkt", "Neu asphaltiert"}
    assert ex["summary"]["de"].startswith(f"Von der Koordinierungsstelle manuell vorgeschlagen: {de(5)}–{de(14)}. "
                                          "Achtung: Der Zeitraum liegt in")
    assert ex["summary"]["de"].endswith("Begründung: „Abstimmung mit Anwohnern“.")
    assert ex["summary"]["en"].startswith("Proposed manually by the coordination office: ")
    assert "Note: The slot lies in the blackout “Weihnachtsmarkt”" in ex["summary"]["en"]

    elsewhere = act(client, coordinator, rid, "propose", {"start": d(60)})  # after the blackout, in the moratorium
    assert [w.split(" / ")[0] for w in elsewhere.json()["warnings"]] == [
        f"Der Zeitraum liegt im Aufbruchverbot „Neu asphaltiert“ ({de(10)}–{de(70)})."]
    free = act(client, coordinator, rid, "propose", {"start": d(75)})
    assert free.status_code == 200 and free.json()["warnings"] == []


def test_approving_other_dates_than_proposed_explains_them(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(5)})
    got = ok(client, coordinator, rid, "approve", {"start": d(10), "reason": "Ferienbeginn"})
    ex = got["slot"]["explanation"]
    assert (got["slot"]["start"], got["slot"]["status"]) == (d(10), "approved")
    assert ex["summary"]["de"] == (f"Von der Koordinierungsstelle mit diesem Termin genehmigt: {de(10)}–{de(19)}. "
                                   "Begründung: „Ferienbeginn“.")


def test_an_emergency_slot_has_a_summary(client, utility) -> None:  # noqa: ANN001
    got = create(client, utility, kind="water", urgency="emergency")
    slot = client.get(f"/v1/requests/{got['id']}", headers=utility.headers).json()["slot"]
    assert slot["explanation"]["summary"]["de"] == f"Notfall: sofort eingerichtet und genehmigt, {de(0)}–{de(9)}."
    assert slot["explanation"]["summary"]["en"].startswith("Emergency: in place and approved at once")


def test_a_change_before_approval_points_to_what_the_owner_can_do(client, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(5)})
    r = client.post(f"/v1/requests/{rid}/changes", json={"duration_days": 12}, headers=city.headers)
    assert r.status_code == 409
    assert "contest" in r.json()["detail"] and "counter_proposal" in r.json()["detail"]
    ok(client, city, rid, "accept")
    r = client.post(f"/v1/requests/{rid}/changes", json={"duration_days": 12}, headers=city.headers)
    assert r.status_code == 409 and "wait for the coordination office" in r.json()["detail"]
    # editing the request itself answers the same way, and names the request
    etag = client.get(f"/v1/requests/{rid}", headers=city.headers).headers["ETag"]
    r = client.patch(f"/v1/requests/{rid}", json={"title": "Neu"}, headers={**city.headers, "If-Match": etag})
    assert r.status_code == 409
    assert "coordination office decides first" in r.json()["detail"] and f"/v1/requests/{rid}/changes" in r.json()[
        "detail"]


def test_editing_a_proposed_request_points_to_accept_contest_or_withdraw(client, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(5)})
    etag = client.get(f"/v1/requests/{rid}", headers=city.headers).headers["ETag"]
    r = client.patch(f"/v1/requests/{rid}", json={"title": "Neu"}, headers={**city.headers, "If-Match": etag})
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert f"POST /v1/requests/{rid}/contest" in detail and "counter_proposal" in detail and "withdraw" in detail


def test_a_withdrawn_request_cannot_be_bundled_with(client, city) -> None:  # noqa: ANN001
    gone = create(client, city)["id"]
    assert client.delete(f"/v1/requests/{gone}", headers=city.headers).status_code in (200, 204)
    r = client.post("/v1/requests", json=body_now(bundle_with=[gone]), headers=city.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "bundle_with[0]", r.text
    assert "withdrawn" in r.json()["errors"][0]["detail"]


def test_a_bad_change_is_named_even_while_another_is_pending(client, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator)["id"]
    assert client.post(f"/v1/requests/{rid}/changes", json={"duration_days": 15, "reason": "Mehr Leitungen"},
                       headers=city.headers).status_code == 201
    bow_tie = {"type": "Polygon", "coordinates": [[[7.0, 51.44], [7.001, 51.441], [7.001, 51.44], [7.0, 51.441],
                                                   [7.0, 51.44]]]}
    r = client.post(f"/v1/requests/{rid}/changes", json={"geometry": bow_tie}, headers=city.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "geometry", r.text
    r = client.post(f"/v1/requests/{rid}/changes", json={"duration_days": 12}, headers=city.headers)
    assert r.status_code == 409 and r.json()["type"].endswith("change-pending")


def test_an_active_site_that_began_before_today_can_still_be_extended(client, db, city, coordinator) -> None:  # noqa: ANN001
    """Its window began weeks ago; only the rest of it is left, yet the works (already running) may grow."""
    req = create(client, city, earliest_start=d(-20), latest_end=d(30), duration_days=10)
    ok(client, coordinator, req["id"], "propose", {"start": d(0)})
    ok(client, city, req["id"], "accept")
    ok(client, coordinator, req["id"], "approve")
    ok(client, city, req["id"], "start")
    slot = db.get(Slot, uuid.UUID(req["id"]))  # as if it had started 15 days ago
    slot.start, slot.end = today() - timedelta(days=15), today() - timedelta(days=6)
    db.flush()
    r = client.post(f"/v1/requests/{req['id']}/changes", json={"duration_days": 40, "reason": "Altlasten"},
                    headers=city.headers)
    assert r.status_code == 201, r.text
