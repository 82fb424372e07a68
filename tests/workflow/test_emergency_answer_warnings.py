"""The answer to the call that activates an emergency (POST /v1/requests 201, a PATCH that makes a submitted request
an emergency) carries the activation's warnings (``slot.explanation.warnings``: the sites it displaced) in its
top-level ``warnings``, as "German / English" lines."""

from __future__ import annotations

from service.workflow import service as workflow
from tests.workflow.flow import approved, body_now, create, d, patch
from tests.workflow.test_emergency_answer import _at


def test_the_201_warns_of_the_displaced_site(client, city, coordinator, make_caller, monkeypatch) -> None:  # noqa: ANN001
    _at(monkeypatch, 10, 0)
    approved(client, city, coordinator)  # "Kanalerneuerung Rüttenscheider Straße", days 0..9
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    r = client.post("/v1/requests", json=body_now(urgency="emergency", title="Wasserrohrbruch", kind="water",
                                                  duration_days=15, latest_end=d(30)), headers=water.headers)
    assert r.status_code == 201, r.text
    warnings = r.json()["warnings"]
    assert warnings == workflow.emergency_warnings(r.json()["slot"]["explanation"])
    assert any("„Kanalerneuerung Rüttenscheider Straße“ verschoben" in w
               and "“Kanalerneuerung Rüttenscheider Straße” moved" in w for w in warnings), warnings
    # a GET later reads the request, not the answer to its activation
    assert client.get(f"/v1/requests/{r.json()['id']}", headers=water.headers).json()["warnings"] == []


def test_a_patch_that_activates_an_emergency_warns_too(client, city, coordinator, make_caller, monkeypatch) -> None:  # noqa: ANN001
    _at(monkeypatch, 10, 0)
    approved(client, city, coordinator)
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    rid = create(client, water, title="Wasserrohrbruch", kind="water", duration_days=15, latest_end=d(30))["id"]
    r = patch(client, water, rid, {"urgency": "emergency"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert any("„Kanalerneuerung Rüttenscheider Straße“ verschoben" in w for w in r.json()["warnings"]), r.json()


def test_a_quiet_emergency_has_no_warnings(client, make_caller, monkeypatch) -> None:  # noqa: ANN001
    _at(monkeypatch, 10, 0)
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    r = client.post("/v1/requests", json=body_now(urgency="emergency", title="Rohrbruch", kind="water"),
                    headers=water.headers)
    assert r.status_code == 201, r.text
    assert r.json()["warnings"] == []


def test_submitting_an_emergency_draft_warns_too(client, city, coordinator, make_caller, monkeypatch) -> None:  # noqa: ANN001
    _at(monkeypatch, 10, 0)
    approved(client, city, coordinator)
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    rid = create(client, water, title="Wasserrohrbruch", kind="water", duration_days=15, latest_end=d(30),
                 urgency="emergency", status="draft")["id"]
    r = client.post(f"/v1/requests/{rid}/submit", json={}, headers=water.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert any("„Kanalerneuerung Rüttenscheider Straße“ verschoben" in w for w in r.json()["warnings"]), r.json()
