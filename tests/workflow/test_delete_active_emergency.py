"""``DELETE /v1/requests/{id}`` cannot withdraw active works (409); for an active emergency its answer names the way
out: ``cancel`` (``POST …/cancel`` with a reason) is in ``allowed`` and in the detail."""

from __future__ import annotations

from tests.workflow.flow import approved, body_now, get, ok


def test_delete_of_an_active_emergency_names_cancel(client, make_caller) -> None:  # noqa: ANN001
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    r = client.post("/v1/requests", json=body_now(urgency="emergency", title="Wasserrohrbruch", kind="water"),
                    headers=water.headers)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["status"] == "active"
    gone = client.delete(f"/v1/requests/{rid}", headers=water.headers)
    assert gone.status_code == 409, gone.text
    problem = gone.json()
    assert "cancel" in problem["allowed"]
    assert f"POST /v1/requests/{rid}/cancel" in problem["detail"] and "reason" in problem["detail"]
    assert get(client, water, rid)["status"] == "active"  # nothing changed
    # the way it names works
    ok(client, water, rid, "cancel", {"reason": "Falsche Straße gemeldet"})
    assert get(client, water, rid)["status"] == "withdrawn"


def test_delete_of_active_regular_works_names_no_cancel(client, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator)["id"]
    ok(client, city, rid, "start")
    gone = client.delete(f"/v1/requests/{rid}", headers=city.headers)
    assert gone.status_code == 409, gone.text
    assert gone.json()["allowed"] == ["complete"]
    assert "cancel" not in gone.json()["detail"]
