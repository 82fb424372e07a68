"""Silence does not grant what the coordinator could only grant by overriding: a proposal whose slot breaks a
precedence against a fixed slot, or clashes with approved or locked slots, is not deemed approved when the
coordinator's deadline passes (the request waits for the coordinator, the history and an event say why). A
change after approval names at once the precedences its placed slot breaks."""

from __future__ import annotations

from datetime import timedelta

from service.slots.models import Slot
from service.workflow import service
from service.workflow.models import RequestDeadline
from tests.workflow.flow import approved, create, d, events, history, ok


def after(rid: str, min_gap: int = 0, max_gap: int | None = None) -> list[dict]:
    return [{"request": rid, "min_gap_days": min_gap, "max_gap_days": max_gap}]


def _early_pipe(client, city, coordinator) -> tuple[dict, dict]:  # noqa: ANN001
    """The trench proposed on days 0..9; the pipe (2 days after it) proposed on days 5..14 and accepted: the
    coordinator's clock runs for the pipe."""
    trench = create(client, city, title="Graben")
    ok(client, coordinator, trench["id"], "propose", {"start": d(0)})
    pipe = create(client, city, title="Leitung", after=after(trench["id"], 2))
    ok(client, coordinator, pipe["id"], "propose", {"start": d(5)})
    ok(client, city, pipe["id"], "accept")
    return trench, pipe


def test_a_proposal_breaking_a_precedence_against_an_approved_slot_is_not_deemed_approved(  # noqa: ANN001
        client, db, settings, city, coordinator) -> None:
    trench, pipe = _early_pipe(client, city, coordinator)
    ok(client, city, trench["id"], "accept")
    ok(client, coordinator, trench["id"], "approve")  # meanwhile the trench is approved: the pipe is too early
    db.expire_all()
    due = db.get(RequestDeadline, pipe["id"]).due_at
    report = service.check_deadlines(db, settings, now=due)
    assert report.deemed_approved == [] and report.withheld == [pipe["id"]]
    db.expire_all()
    got = client.get(f"/v1/requests/{pipe['id']}", headers=city.headers).json()
    assert got["status"] == "accepted" and got["deadline"] is None  # the coordinator decides; no clock runs
    assert (got["slot"]["start"], got["slot"]["status"]) == (d(5), "proposed")
    last = history(db, pipe["id"])[-1]
    assert (last.action, last.actor, last.reason_code) == ("deemed_approval.withheld", "system",
                                                           "deemed_approval_withheld")
    de, en = last.reason.split(" / ")
    assert "gilt aber nicht als genehmigt" in de and "verletzt eine Reihenfolge" in de
    assert "not deemed approved" in en and "breaks a precedence with approved or locked slots" in en
    withheld = last.after["withheld"]
    assert [p["request_id"] for p in withheld["precedences"]] == [trench["id"]]
    assert withheld["precedences"][0]["earliest_start"] == d(12) and withheld["conflicts"] == []
    assert withheld["slot"] == {"start": d(5), "end": d(14), "status": "proposed"}
    event = events(db, pipe["id"])[-1]
    assert event.kind == "deemed_approval.withheld" and event.organisation_id is None
    assert event.payload["reason_code"] == "deemed_approval_withheld" and event.payload["de"] == withheld["de"]
    # asked once: later runs neither approve it nor repeat themselves
    report = service.check_deadlines(db, settings, now=due + timedelta(days=30))
    assert (report.deemed_approved, report.withheld) == ([], [])
    assert history(db, pipe["id"])[-1].seq == last.seq
    # the coordinator can still decide: approve with override, or propose the first start the order allows
    done = ok(client, coordinator, pipe["id"], "approve", {"override": True, "reason": "abgestimmt"})
    assert done["status"] == "approved"


def test_a_proposal_clashing_with_an_approved_slot_is_not_deemed_approved(client, db, settings, city,  # noqa: ANN001
                                                                          utility, coordinator) -> None:
    mine = create(client, city)
    ok(client, coordinator, mine["id"], "propose", {"start": d(0)})
    ok(client, city, mine["id"], "accept")
    theirs = approved(client, utility, coordinator, 5)  # same street, another owner, days 5..14
    db.expire_all()
    due = db.get(RequestDeadline, mine["id"]).due_at
    report = service.check_deadlines(db, settings, now=due)
    assert report.deemed_approved == [] and report.withheld == [mine["id"]]
    db.expire_all()
    assert db.get(Slot, mine["id"]).status == "proposed"
    assert client.get(f"/v1/requests/{mine['id']}", headers=city.headers).json()["status"] == "accepted"
    last = history(db, mine["id"])[-1]
    assert last.action == "deemed_approval.withheld"
    assert "kollidiert mit einem genehmigten oder festgelegten Termin" in last.reason
    assert "clashes with an approved or locked slot" in last.reason and "precedence" not in last.reason
    assert [c["request_id"] for c in last.after["withheld"]["conflicts"]] == [theirs["id"]]


def test_a_precedence_against_a_proposed_slot_does_not_stop_a_deemed_approval(client, db, settings, city,  # noqa: ANN001
                                                                               coordinator) -> None:
    trench, pipe = _early_pipe(client, city, coordinator)  # the trench stays a proposal
    due = db.get(RequestDeadline, pipe["id"]).due_at
    assert service.check_deadlines(db, settings, now=due).deemed_approved == [pipe["id"]]
    db.expire_all()
    slot = db.get(Slot, pipe["id"])
    assert slot.status == "approved"
    assert [w["request_id"] for w in slot.explanation["precedence_warnings"]] == [trench["id"]]
    event = events(db, pipe["id"])[-1]
    assert event.kind == "request.deemed_approved"
    assert [w["request_id"] for w in event.payload["precedence_warnings"]] == [trench["id"]]


def _change(client, owner, rid: str, body: dict) -> dict:  # noqa: ANN001
    r = client.post(f"/v1/requests/{rid}/changes", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_change_names_the_precedences_its_slot_breaks_when_it_is_asked_for(client, db, city,  # noqa: ANN001
                                                                             coordinator) -> None:
    trench = approved(client, city, coordinator, 0)  # 0 .. 9
    pipe = create(client, city, title="Leitung", after=after(trench["id"], 5))
    ok(client, coordinator, pipe["id"], "approve", {"start": d(15)})  # exactly 5 days after the trench
    asked = _change(client, city, trench["id"], {"duration_days": 12, "reason": "Fels"})
    assert (asked["start"], asked["end"]) == (d(0), d(11))
    (link,) = asked["precedences"]
    assert (link["request_id"], link["order"], link["blocks_approval"]) == (pipe["id"], "before", True)
    assert link["slot"]["status"] == "approved" and link["latest_start"] == d(-2)
    (warning,) = asked["warnings"]
    de, en = warning.split(" / ")
    assert "„Leitung“ (genehmigt" in de and "nur ausnahmsweise (mit Übersteuerung)" in de
    assert "“Leitung” (approved" in en and "only by overriding" in en
    assert "precedences" not in asked["placement"]  # named once, at the top
    seen = client.get(f"/v1/requests/{trench['id']}/changes/{asked['id']}", headers=city.headers).json()
    assert (seen["precedences"], seen["warnings"]) == (asked["precedences"], asked["warnings"])
    assert [p["request_id"] for p in events(db, trench["id"])[-1].payload["precedences"]] == [pipe["id"]]
    # as announced, the approval needs override
    r = client.post(f"/v1/requests/{trench['id']}/changes/{asked['id']}/approve", headers=coordinator.headers)
    assert r.status_code == 409 and r.json()["type"].endswith("/precedence")


def test_a_change_warns_of_a_precedence_against_a_proposed_slot_and_is_silent_without_one(  # noqa: ANN001
        client, city, coordinator) -> None:
    trench = approved(client, city, coordinator, 0)  # 0 .. 9
    pipe = create(client, city, title="Leitung", after=after(trench["id"], 5))
    ok(client, coordinator, pipe["id"], "propose", {"start": d(15)})
    asked = _change(client, city, trench["id"], {"duration_days": 12})
    (link,) = asked["precedences"]
    assert (link["request_id"], link["blocks_approval"], link["slot"]["status"]) == (pipe["id"], False, "proposed")
    (warning,) = asked["warnings"]
    assert "„Leitung“ (vorgeschlagen" in warning and "Übersteuerung" not in warning and " / " in warning
    other = approved(client, city, coordinator, 30)
    quiet = _change(client, city, other["id"], {"duration_days": 11})
    assert (quiet["precedences"], quiet["warnings"]) == ([], [])
