"""The answer to an emergency (201, the request as read after its activation) names what it did beyond its own
slot: the sites it displaced (id, title, the dates they had, the dates they have now or none) and, in its slot's
``explanation.warnings`` ("German / English" like every warning), what a late report means for its one day."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from service.kit.time import tz
from service.settings import Settings
from service.workflow import service as workflow
from tests.workflow.flow import approved, body_now, d, today


def _at(monkeypatch: pytest.MonkeyPatch, hour: int, minute: int) -> None:
    """The emergency is reported at ``hour:minute`` today (Europe/Berlin)."""
    moment = datetime.combine(today(), time(hour, minute), tz(Settings()))
    monkeypatch.setattr(workflow, "service_now", lambda settings: moment)


def test_the_answer_lists_the_displaced_sites(client, city, coordinator, make_caller, monkeypatch) -> None:  # noqa: ANN001
    _at(monkeypatch, 10, 0)
    moved = approved(client, city, coordinator)["id"]  # days 0..9 of 0..89: moves behind the emergency
    stuck = approved(client, city, coordinator, start_offset=1, latest_end=d(11),
                     title="Kanalerneuerung Rüttenscheider Straße Süd")["id"]  # days 1..10 of 0..11: no room left
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    r = client.post("/v1/requests", json=body_now(urgency="emergency", title="Wasserrohrbruch", kind="water",
                                                  duration_days=15, latest_end=d(30)), headers=water.headers)
    assert r.status_code == 201, r.text
    explanation = r.json()["slot"]["explanation"]
    entries = {e["request_id"]: e for e in explanation["displaced"]}
    assert set(entries) == {moved, stuck}
    assert entries[moved]["title"] == "Kanalerneuerung Rüttenscheider Straße"
    assert entries[moved]["previous"] == {"start": d(0), "end": d(9), "status": "approved"}
    # approved works stay approved at the new dates where no override is needed (else proposed)
    assert (entries[moved]["slot"]["start"], entries[moved]["slot"]["end"]) == (d(15), d(24))
    kept = entries[moved]["slot"]["status"]
    assert kept in ("approved", "proposed")
    assert entries[stuck]["previous"] == {"start": d(1), "end": d(10), "status": "approved"}
    assert entries[stuck]["slot"] is None  # no start left in its window
    lines = workflow.emergency_warnings(explanation)
    assert len(lines) == 2
    now = "(genehmigt)" if kept == "approved" else "(vorgeschlagen)"
    assert any(line.startswith("„Kanalerneuerung Rüttenscheider Straße“ verschoben: bisher ") and "(genehmigt), jetzt "
               in line and line.split(" / ")[0].endswith(f"{now}.")
               and " / “Kanalerneuerung Rüttenscheider Straße” moved: " in line for line in lines)
    assert any("„Kanalerneuerung Rüttenscheider Straße Süd“ ohne Termin" in line and "ein neuer Termin folgt" in line
               and "left without a slot" in line for line in lines)
    # the emergency's owner reads the others' titles as every other organisation does; and so later
    again = client.get(f"/v1/requests/{r.json()['id']}", headers=water.headers).json()
    assert again["slot"]["explanation"]["displaced"] == explanation["displaced"]


def test_a_late_report_of_one_day_warns_that_it_ends_at_midnight(client, make_caller, monkeypatch) -> None:  # noqa: ANN001
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    _at(monkeypatch, 23, 50)
    late = client.post("/v1/requests", json=body_now(urgency="emergency", title="Wasserrohrbruch", kind="water",
                                                     duration_days=1, latest_end=d(30)), headers=water.headers)
    assert late.status_code == 201, late.text
    assert (late.json()["slot"]["start"], late.json()["slot"]["end"]) == (d(0), d(0))
    [line] = workflow.emergency_warnings(late.json()["slot"]["explanation"])
    assert line.startswith("Die Notfallbaustelle endet heute um 24:00 Uhr: duration_days zählt den Tag der Meldung "
                           "(23:50 Uhr) als ganzen Tag.")
    assert " / The emergency works end at midnight tonight: duration_days counts the day of the report (23:50)" in line

    # in the morning, or with two days, nothing to warn of
    _at(monkeypatch, 9, 0)
    morning = client.post("/v1/requests", json=body_now(urgency="emergency", title="Rohrbruch", kind="water",
                                                        duration_days=1, latest_end=d(30),
                                                        geometry={"type": "LineString",
                                                                  "coordinates": [[7.2001, 51.4402],
                                                                                  [7.2012, 51.4371]]}),
                          headers=water.headers)
    assert morning.status_code == 201, morning.text
    assert workflow.emergency_warnings(morning.json()["slot"]["explanation"]) == []
    _at(monkeypatch, 23, 50)
    two = client.post("/v1/requests", json=body_now(urgency="emergency", title="Rohrbruch Nord", kind="water",
                                                    duration_days=2, latest_end=d(30),
                                                    geometry={"type": "LineString",
                                                              "coordinates": [[7.3001, 51.4402], [7.3012, 51.4371]]}),
                      headers=water.headers)
    assert two.status_code == 201, two.text
    assert workflow.emergency_warnings(two.json()["slot"]["explanation"]) == []
