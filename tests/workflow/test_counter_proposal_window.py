"""A counter-proposal window too short for the works names its own end, not a duration it does not have."""

from __future__ import annotations

from tests.workflow.flow import act, create, d, ok


def test_a_counter_proposal_shorter_than_the_works_names_its_latest_end(client, city, coordinator) -> None:  # noqa: ANN001
    rid = create(client, city, duration_days=30, latest_end="2027-09-30")["id"]
    ok(client, coordinator, rid, "propose", {"start": d(10)})
    r = act(client, city, rid, "contest", {"reason": "Zu früh", "counter_proposal": {
        "earliest_start": "2027-09-01", "latest_end": "2027-09-10"}})
    assert r.status_code == 422, r.text
    problem = r.json()
    fields = [e["field"] for e in problem.get("errors", [])] or [problem.get("field")]
    assert "counter_proposal.latest_end" in fields, problem
    assert "window of 10 days" in r.text and "30 days" in r.text and "2027-09-30" in r.text, r.text
    # nothing changed: still proposed, and a window that holds the works is taken
    r = act(client, city, rid, "contest", {"reason": "Zu früh", "counter_proposal": {
        "earliest_start": "2027-09-01", "latest_end": "2027-09-30"}})
    assert r.status_code == 200 and r.json()["status"] == "contested", r.text
