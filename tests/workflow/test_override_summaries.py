"""What an approval with ``override`` writes into the slot's summary: the clashes counted by the other sites
(one site clashing on its diversion and in a full zone is one), and the approver's own reason, also when the
slot is approved as proposed (the summary quotes the proposal's reason before it)."""

from __future__ import annotations

from datetime import date

from geoalchemy2.shape import from_shape
from shapely.geometry import box

from service.conflicts.models import Zone
from service.slots import explanations
from tests.workflow.flow import act, approved, create, d, ok

# as in test_slot_rules: the default site's diversion runs 1.5 km east, across the street the works are on
FAR_DIVERSION = {"type": "LineString", "coordinates": [[7.0200, 51.4400], [7.0300, 51.4400]]}
ON_THE_DIVERSION = {"type": "LineString", "coordinates": [[7.0250, 51.4398], [7.0250, 51.4402]]}


def test_one_site_clashing_on_its_diversion_and_in_a_zone_is_one_conflict(client, db, city, utility,
                                                                           coordinator) -> None:  # noqa: ANN001
    db.add(Zone(name="Rüttenscheid Ost", capacity=1, min_impact="lane_reduction",
                geom=from_shape(box(6.99, 51.43, 7.04, 51.45), srid=4326)))
    db.flush()
    closure = approved(client, city, coordinator, 0, diversions=[FAR_DIVERSION])
    works = create(client, utility, geometry=ON_THE_DIVERSION, diversions=[], impact="lane_reduction",
                   kind="telecom")
    r = act(client, coordinator, works["id"], "approve", {"start": d(0)})
    assert r.status_code == 409
    assert sorted(c["kind"] for c in r.json()["conflicts"]) == ["diversion", "zone"]
    assert {c["request_id"] for c in r.json()["conflicts"]} == {closure["id"]}
    explanation = ok(client, coordinator, works["id"], "approve", {"start": d(0), "override": True})["slot"][
        "explanation"]
    assert len(explanation["overridden_conflicts"]) == 2  # every way it clashes is kept
    assert explanation["summary"]["de"].endswith("Trotz 1 Konflikt mit genehmigten oder festgelegten Terminen "
                                                 "genehmigt.")
    assert explanation["summary"]["en"].endswith("Approved despite 1 conflict with approved or locked slots.")


def test_an_override_of_the_proposed_slot_keeps_the_approvers_reason(client, city, utility,
                                                                     coordinator) -> None:  # noqa: ANN001
    works = create(client, utility, geometry=ON_THE_DIVERSION, diversions=[], impact="lane_reduction",
                   kind="telecom")
    ok(client, coordinator, works["id"], "propose", {"start": d(0), "reason": "Anwohner informiert"})
    ok(client, utility, works["id"], "accept")
    # the closure is approved afterwards, over the same days: its diversion runs across the works
    approved(client, city, coordinator, 0, diversions=[FAR_DIVERSION])
    assert act(client, coordinator, works["id"], "approve").status_code == 409
    got = ok(client, coordinator, works["id"], "approve", {"override": True, "reason": "Umleitung abgestimmt"})
    summary = got["slot"]["explanation"]["summary"]
    assert "Begründung: „Anwohner informiert“." in summary["de"]  # the proposal's, as it was
    assert summary["de"].endswith("Trotz 1 Konflikt mit genehmigten oder festgelegten Terminen genehmigt. "
                                  "Begründung der Genehmigung: „Umleitung abgestimmt“.")
    assert summary["en"].endswith("Approved despite 1 conflict with approved or locked slots. "
                                  "Reason for the approval: “Umleitung abgestimmt”.")


def test_an_override_at_new_dates_says_the_approvers_reason_once(client, city, utility,
                                                                 coordinator) -> None:  # noqa: ANN001
    approved(client, city, coordinator, 0, diversions=[FAR_DIVERSION])
    works = create(client, utility, geometry=ON_THE_DIVERSION, diversions=[], impact="lane_reduction",
                   kind="telecom")
    got = ok(client, coordinator, works["id"], "approve",
             {"start": d(0), "override": True, "reason": "Umleitung abgestimmt"})
    summary = got["slot"]["explanation"]["summary"]["de"]
    assert summary.count("Umleitung abgestimmt") == 1 and "Begründung der Genehmigung" not in summary


def test_a_slot_moved_onto_its_preferred_start_is_not_said_to_make_room() -> None:
    back = explanations.moved_for_summary(date(2027, 3, 1), date(2027, 3, 1))
    assert back == {"de": "Am gewünschten Beginn (01.03.2027) eingeplant. Neu eingeplant, als ein anderer Antrag "
                          "eingeplant wurde.",
                    "en": "Placed on the preferred start (1 Mar 2027). Placed again when another request was placed."}
    away = explanations.moved_for_summary(date(2027, 3, 11), date(2027, 3, 1))
    assert away["de"].endswith("Verschoben, um Platz für einen neuen Antrag zu machen.")


def test_a_request_blocked_by_other_requests_says_so_in_german() -> None:
    detail = "blocked by other requests; no start in the window is free of the listed blockers"
    assert explanations.detail_text(detail) == {
        "de": "Von anderen Anträgen blockiert; kein Beginn im Zeitfenster ist frei von den genannten Hindernissen.",
        "en": "Blocked by other requests; no start in the window is free of the listed blockers."}
