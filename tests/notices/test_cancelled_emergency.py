"""An emergency reported by mistake and cancelled (``POST …/cancel``) is told to its subscribers as a cancellation
("Baustelle abgesagt", the works do not take place as announced), never as "Baustelle abgeschlossen"; an emergency's
extension (in effect at once) is told as one ("Baustelle verlängert")."""

from __future__ import annotations

import json

from tests.conftest import site_body
from tests.notices.helpers import subscribe
from tests.workflow.flow import ok


def test_a_cancelled_emergency_is_told_as_cancelled_not_completed(client, db, utility, smtp, receiver,  # noqa: ANN001
                                                                   run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    body = site_body(title="Wasserrohrbruch Rüttenscheider Straße", kind="water", urgency="emergency",
                     earliest_start="2026-11-21", latest_end="2027-01-31", duration_days=5, preferred_start=None)
    r = client.post("/v1/requests", json=body, headers=utility.headers)
    assert r.status_code == 201 and r.json()["status"] == "active", r.text
    rid = r.json()["id"]
    run_jobs()
    assert any("Notfallbaustelle" in m["Subject"] for m in inbox.to(sub.email))

    r = client.post(f"/v1/requests/{rid}/changes", headers=utility.headers, json={"duration_days": 9})
    assert r.status_code == 201 and r.json()["status"] == "approved", r.text
    inbox.clear()
    run_jobs()
    [msg] = inbox.to(sub.email)
    assert "Baustelle verlängert" in msg["Subject"], msg["Subject"]

    inbox.clear()
    receiver.requests.clear()
    ok(client, utility, rid, "cancel", {"reason": "Falsche Straße gemeldet"})
    run_jobs()
    [msg] = inbox.to(sub.email)
    assert "Baustelle abgesagt" in msg["Subject"] and "abgeschlossen" not in msg["Subject"], msg["Subject"]
    german, english = msg.get_content().split("English version below")
    assert "Die Baustelle findet nicht wie angekündigt statt." in german, german
    assert "Site cancelled" in english and "completed" not in english.lower(), english
    [hook] = [json.loads(r["body"]) for r in receiver.requests]
    assert hook["type"] == "notice.request.withdrawn"
