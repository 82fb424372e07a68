"""Changes after approval: their decision honours If-Match like every step; a shortening keeps its start;
a change that has to move prefers the starts that keep its precedences; and a person's reason reads as a
closed, quoted sentence in every generated text, German and English."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.slots.explanations import reason_sentence
from tests.workflow.flow import act, approved, create, d, history, ok, today


def de(offset: int) -> str:
    return f"{today() + timedelta(days=offset):%d.%m.%Y}"


def en(offset: int) -> str:
    day = today() + timedelta(days=offset)
    return f"{day.day} {day:%b} {day.year}"


def after(rid: str, min_gap: int = 0, max_gap: int | None = None) -> list[dict]:
    return [{"request": rid, "min_gap_days": min_gap, "max_gap_days": max_gap}]


def _change(client, owner, rid: str, body: dict) -> dict:  # noqa: ANN001
    r = client.post(f"/v1/requests/{rid}/changes", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _decide(client, coordinator, rid: str, cid: str, decision: str, body: dict | None = None,  # noqa: ANN001, ANN202
            **headers: str):
    return client.post(f"/v1/requests/{rid}/changes/{cid}/{decision}", json=body,
                       headers={**coordinator.headers, **headers})


def _get(client, caller, rid: str) -> tuple[dict, str]:  # noqa: ANN001
    r = client.get(f"/v1/requests/{rid}", headers=caller.headers)
    assert r.status_code == 200, r.text
    return r.json(), r.headers["ETag"]


# --- If-Match -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("decision", "body"), [("approve", None),
                                                ("reject", {"reason_code": "incomplete_information"})])
def test_a_change_decision_on_a_stale_etag_answers_412_and_decides_nothing(client, db, city, coordinator,  # noqa: ANN001
                                                                          decision, body) -> None:
    rid = approved(client, city, coordinator)["id"]
    old, _ = _get(client, city, rid)
    stale = f'"v{old["version"] - 1}"'
    change = _change(client, city, rid, {"duration_days": 12})
    seen = len(history(db, rid))
    r = _decide(client, coordinator, rid, change["id"], decision, body, **{"If-Match": stale})
    assert r.status_code == 412, r.text
    assert r.json()["type"].endswith("/stale-etag") and r.headers["ETag"] == f'"v{old["version"]}"'
    got = client.get(f"/v1/requests/{rid}/changes/{change['id']}", headers=city.headers).json()
    assert got["status"] == "pending" and got["decided_at"] is None
    now, _ = _get(client, city, rid)
    assert (now["slot"]["end"], now["duration_days"], now["version"]) == (d(9), 10, old["version"])
    assert len(history(db, rid)) == seen

    # the tag as read now decides
    _, tag = _get(client, city, rid)
    r = _decide(client, coordinator, rid, change["id"], decision, body, **{"If-Match": tag})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == ("approved" if decision == "approve" else "rejected")


def test_a_change_decision_without_if_match_is_taken_as_a_step_is(client, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator)["id"]
    change = _change(client, city, rid, {"duration_days": 12})
    r = _decide(client, coordinator, rid, change["id"], "approve")
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    # and the owner cannot get past the coordinator's check with a current tag
    other = _change(client, city, rid, {"duration_days": 14})
    _, tag = _get(client, city, rid)
    assert _decide(client, city, rid, other["id"], "approve", **{"If-Match": tag}).status_code == 403


# --- a shortening keeps its start ---------------------------------------------------------------------


def _overlapped(client, city, utility, coordinator) -> tuple[str, str]:  # noqa: ANN001
    """Another owner's proposal on days 0..9 of the same street, then the city's site approved on days 0..9
    (an approval checks approved and locked slots only): the city's slot overlaps a proposed one."""
    theirs = create(client, utility, kind="water")["id"]
    ok(client, coordinator, theirs, "propose", {"start": d(0)})
    mine = create(client, city)["id"]
    ok(client, coordinator, mine, "approve", {"start": d(0)})
    return mine, theirs


def test_a_shortening_keeps_the_start_whatever_lies_around_it(client, db, city, utility, coordinator) -> None:  # noqa: ANN001
    mine, _ = _overlapped(client, city, utility, coordinator)
    change = _change(client, city, mine, {"duration_days": 5, "reason": "Weniger Leitungen"})
    assert (change["start"], change["end"]) == (d(0), d(4))
    assert change["placement"] == {"method": "in_place", "within_previous_slot": True}
    assert (change["precedences"], change["warnings"]) == ([], [])
    r = _decide(client, coordinator, mine, change["id"], "approve")
    assert r.status_code == 200, r.text
    slot = _get(client, city, mine)[0]["slot"]
    assert (slot["start"], slot["end"], slot["status"]) == (d(0), d(4), "approved")
    assert slot["explanation"]["change"] == "shortened"
    assert slot["explanation"]["summary"]["de"] == (f"Verkürzt durch die genehmigte Änderung: {de(0)}–{de(4)} "
                                                    f"(bisher {de(0)}–{de(9)}). Begründung: „Weniger Leitungen“.")


def test_only_a_pure_shortening_skips_the_check(client, city, utility, coordinator) -> None:  # noqa: ANN001
    """An extension, or a shortening that also names an area (even the same one), is checked against the other
    owner's proposal and placed after it."""
    mine, _ = _overlapped(client, city, utility, coordinator)
    longer = _change(client, city, mine, {"duration_days": 12})
    assert (longer["start"], longer["placement"]["method"]) == (d(10), "scheduler.incremental")
    _decide(client, coordinator, mine, longer["id"], "reject", {"reason_code": "incomplete_information"})
    same_area = create(client, city)["geometry"]
    area = _change(client, city, mine, {"duration_days": 5, "geometry": same_area})
    assert area["start"] == d(10) and "within_previous_slot" not in area["placement"]


# --- a change that must move keeps its precedences if it can ---------------------------------------------


def test_a_moved_change_takes_a_start_that_keeps_its_precedence(client, city, utility, coordinator) -> None:  # noqa: ANN001
    trench = create(client, city, title="Graben")["id"]
    ok(client, coordinator, trench, "approve", {"start": d(0)})  # days 0..9
    blocker = create(client, utility, kind="water")["id"]
    ok(client, coordinator, blocker, "propose", {"start": d(20)})  # days 20..29, another owner
    # the pipe follows the trench within 20 days: it starts on day 10 .. 30
    pipe = create(client, city, title="Leitung", after=after(trench, 0, 20))["id"]
    ok(client, coordinator, pipe, "approve", {"start": d(10)})  # days 10..19
    change = _change(client, city, pipe, {"duration_days": 15})
    # in place (10..24) it would meet the proposal; the nearest free start (day 5) comes before the trench ends
    assert (change["start"], change["end"]) == (d(30), d(44))
    assert change["placement"]["precedence_window"] == {"first_start": d(10), "last_start": d(30)}
    assert (change["precedences"], change["warnings"]) == ([], [])
    assert _decide(client, coordinator, pipe, change["id"], "approve").status_code == 200


def test_a_moved_change_that_cannot_keep_its_precedence_names_it(client, city, utility, coordinator) -> None:  # noqa: ANN001
    trench = create(client, city, title="Graben")["id"]
    ok(client, coordinator, trench, "approve", {"start": d(0)})
    blocker = create(client, utility, kind="water")["id"]
    ok(client, coordinator, blocker, "propose", {"start": d(20)})
    pipe = create(client, city, title="Leitung", after=after(trench, 0, 10))["id"]  # starts on day 10 .. 20
    ok(client, coordinator, pipe, "approve", {"start": d(10)})
    change = _change(client, city, pipe, {"duration_days": 15})
    assert change["start"] == d(5) and "precedence_window" not in change["placement"]
    (link,) = change["precedences"]
    assert (link["request_id"], link["blocks_approval"]) == (trench, True)


# --- the reason, closed and quoted ---------------------------------------------------------------------


def test_a_reason_closes_its_sentence_before_the_override_note(client, city, utility, coordinator) -> None:  # noqa: ANN001
    approved(client, utility, coordinator, kind="water")  # days 0..9 on the same street
    rid = create(client, city)["id"]
    got = ok(client, coordinator, rid, "approve", {"start": d(5), "override": True,
                                                   "reason": "Umleitung abgestimmt"})
    summary = got["slot"]["explanation"]["summary"]
    assert summary["de"] == (f"Von der Koordinierungsstelle mit diesem Termin genehmigt: {de(5)}–{de(14)}. "
                             "Begründung: „Umleitung abgestimmt“. Trotz 1 Konflikt mit genehmigten oder festgelegten "
                             "Terminen genehmigt.")
    assert summary["en"] == (f"Approved with these dates by the coordination office: {en(5)} – {en(14)}. "
                             "Reason: “Umleitung abgestimmt”. Approved despite 1 conflict with approved or locked "
                             "slots.")


def test_a_changes_reason_closes_its_sentence_before_the_overridden_precedence(client, city,  # noqa: ANN001
                                                                              coordinator) -> None:
    trench = approved(client, city, coordinator, 0)["id"]  # 0 .. 9
    pipe = create(client, city, title="Leitung", after=after(trench, 5))["id"]
    ok(client, coordinator, pipe, "approve", {"start": d(15)})
    change = _change(client, city, trench, {"duration_days": 12, "reason": "Boden schlecht"})
    r = _decide(client, coordinator, trench, change["id"], "approve", {"override": True})
    assert r.status_code == 200, r.text
    summary = _get(client, city, trench)[0]["slot"]["explanation"]["summary"]
    assert summary["de"] == (f"Verlängert durch die genehmigte Änderung: {de(0)}–{de(11)} (bisher {de(0)}–{de(9)}). "
                             "Begründung: „Boden schlecht“. Trotz einer nicht eingehaltenen Reihenfolge gegenüber "
                             "genehmigten oder festgelegten Terminen genehmigt.")
    assert summary["en"] == (f"Extended by the approved change: {en(0)} – {en(11)} (was {en(0)} – {en(9)}). "
                             "Reason: “Boden schlecht”. Approved despite 1 broken precedence with approved or locked "
                             "slots.")


def test_a_manual_proposal_quotes_a_reason_that_ends_its_own_sentence(client, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city)["id"]
    r = act(client, coordinator, rid, "propose", {"start": d(5), "reason": "Ferien!\n Bitte  zügig."})
    summary = r.json()["slot"]["explanation"]["summary"]
    assert summary["de"].endswith(". Begründung: „Ferien! Bitte zügig.“")
    assert summary["en"].endswith(". Reason: “Ferien! Bitte zügig.”")


@pytest.mark.parametrize(("reason", "expected"), [
    ("Boden schlecht", ("Begründung: „Boden schlecht“.", "Reason: “Boden schlecht”.")),
    ("  Boden schlecht.  ", ("Begründung: „Boden schlecht.“", "Reason: “Boden schlecht.”")),
    ("Warum?", ("Begründung: „Warum?“", "Reason: “Warum?”")),
    ("laut Bescheid (siehe Anlage.)", ("Begründung: „laut Bescheid (siehe Anlage.)“",
                                       "Reason: “laut Bescheid (siehe Anlage.)”")),
    ("Abschnitt „Nord“", ("Begründung: „Abschnitt „Nord““.", "Reason: “Abschnitt „Nord“”.")),
    ("wie besprochen…", ("Begründung: „wie besprochen…“", "Reason: “wie besprochen…”")),
])
def test_reason_sentence(reason: str, expected: tuple[str, str]) -> None:
    assert reason_sentence(reason) == expected


@pytest.mark.parametrize("reason", [None, "", "  \n "])
def test_no_reason_no_sentence(reason: str | None) -> None:
    assert reason_sentence(reason) is None
