"""A cancellation ("Baustelle abgesagt", "findet nicht wie angekündigt statt") goes only to the subscriptions that
were told of the site: by a notice of it, or by the welcome that listed it. A site created, changed and withdrawn
before the worker came round was never announced to anyone: nobody hears of its cancellation."""

from __future__ import annotations

from tests.conftest import site_body
from tests.notices.helpers import notices_of, subscribe
from tests.workflow.flow import ok


def _subjects(inbox, address: str) -> list[str]:  # noqa: ANN001
    return [m["Subject"] for m in inbox.to(address) if not m["Subject"].startswith("Bitte bestätigen")]


def _kinds(db, sub) -> list[str]:  # noqa: ANN001
    return [n.kind for n in notices_of(db, sub.id) if n.kind != "confirmation"]


def test_a_site_withdrawn_before_it_was_announced_is_not_called_off(client, db, city, smtp, receiver,
                                                                    run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    run_jobs()  # the confirmation; the worker then stops
    created = client.post("/v1/requests", json=site_body(), headers=city.headers)
    assert created.status_code == 201, created.text
    url = f"/v1/requests/{created.json()['id']}"
    patched = client.patch(url, json={"duration_days": 30},
                           headers={**city.headers, "If-Match": created.headers["etag"]})
    assert patched.status_code == 200, patched.text
    withdrawn = client.delete(url, headers={**city.headers, "If-Match": patched.headers["etag"]})
    assert withdrawn.status_code == 200, withdrawn.text
    run_jobs()  # the worker is back: three events of a site that is withdrawn now
    assert _kinds(db, sub) == []
    assert _subjects(inbox, sub.email) == []
    assert receiver.requests == []


def test_those_told_of_the_site_hear_of_its_cancellation(client, db, city, coordinator, smtp,
                                                         run_jobs) -> None:  # noqa: ANN001
    """Told by a notice, told by the welcome: both hear of the withdrawal, and of the rejection (a cancellation
    too); of a third site created and withdrawn between two rounds of the worker neither hears a word."""
    inbox, _ = smtp
    noticed = subscribe(client, db, email="noticed@example.de")
    first = client.post("/v1/requests", json=site_body(title="Kanalbau Teil 1 Rüttenscheider Straße"),
                        headers=city.headers).json()["id"]
    second = client.post("/v1/requests", json=site_body(title="Gasleitung Rüttenscheider Straße", kind="gas"),
                         headers=city.headers).json()["id"]
    run_jobs()
    welcomed = subscribe(client, db, email="welcomed@example.de")  # its welcome lists both sites
    run_jobs()
    assert _subjects(inbox, welcomed.email) == ["Baustellen in Ihrem Gebiet: 2"]
    assert client.delete(f"/v1/requests/{first}", headers=city.headers).status_code == 200
    ok(client, coordinator, second, "reject", {"reason_code": "inside_moratorium", "reason": "Neu asphaltiert"})
    third = client.post("/v1/requests", json=site_body(title="Wasserleitung Rüttenscheider Straße", kind="water"),
                        headers=city.headers).json()["id"]
    assert client.delete(f"/v1/requests/{third}", headers=city.headers).status_code == 200
    run_jobs()
    for sub in (noticed, welcomed):
        cancelled = [s for s in _subjects(inbox, sub.email)
                     if s.startswith(("Baustelle abgesagt", "Baustelle findet nicht statt"))]
        assert sorted(cancelled) == ["Baustelle abgesagt: Kanalbau Teil 1 Rüttenscheider Straße",
                                     "Baustelle findet nicht statt: Gasleitung Rüttenscheider Straße"], sub.email
        assert not any("Wasserleitung" in s for s in _subjects(inbox, sub.email))
