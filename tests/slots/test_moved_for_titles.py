"""Texts the slots domain writes about one request on another's (the history of a provisional slot moved for a new
request, a slot placed again when a blocker gave its slot back): another organisation's request is named by its
public title (no names, phone numbers or e-mail addresses), the owner's own by the title as written."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

from service.requests.models import public_title_of
from service.slots import explanations
from tests.conftest import site_body

SPOT = {"type": "LineString", "coordinates": [[7.1000, 51.4200], [7.1004, 51.4200]]}
SECRET = "Gleisreparatur Testweg – Bauleiter Herr Klaus Müller, Tel. 0201 1234567"
PUBLIC = public_title_of(SECRET)


def _lane(earliest: str, latest: str, days: int, preferred: str | None = None, **extra) -> dict:  # noqa: ANN003
    return site_body(kind="other", impact="lane_reduction", geometry=SPOT, diversions=[], earliest_start=earliest,
                     latest_end=latest, duration_days=days, preferred_start=preferred, **extra)


def _leaks(text: str) -> bool:
    return "Müller" in text or "1234567" in text


def test_the_public_title_hides_the_person_and_the_phone_number() -> None:
    assert PUBLIC and not _leaks(PUBLIC) and PUBLIC.startswith("Gleisreparatur Testweg")


def test_title_for_reads_the_own_title_as_written_and_anothers_public() -> None:
    owner, other = uuid4(), uuid4()
    req = SimpleNamespace(title=SECRET, public_title=PUBLIC, owner_id=owner)
    assert explanations.title_for(req, owner) == SECRET
    assert explanations.title_for(req, other) == PUBLIC
    assert explanations.moved_for("T") == {"de": "Verschoben für „T“", "en": "Moved for “T”"}


def test_a_slot_moved_for_another_organisations_request_names_it_by_its_public_title(  # noqa: ANN001
        client, make_caller) -> None:
    p, q = make_caller("utility"), make_caller("utility")
    pr = client.post("/v1/requests", json=_lane("2027-06-01", "2027-07-30", 30, "2027-06-01"),
                     headers=p.headers).json()
    assert pr["slot"]["start"] == "2027-06-01"
    qr = client.post("/v1/requests", json=_lane("2027-06-01", "2027-06-30", 30, title=SECRET), headers=q.headers)
    assert qr.status_code == 201, qr.text
    assert qr.json()["slot"]["start"] == "2027-06-01"  # P made room: its provisional slot moved to July
    got = client.get(f"/v1/requests/{pr['id']}", headers=p.headers)
    assert got.json()["slot"]["start"] == "2027-07-01"
    history = client.get(f"/v1/requests/{pr['id']}/history", headers=p.headers)
    assert history.status_code == 200
    assert not _leaks(got.text) and not _leaks(history.text)
    last = history.json()[-1]
    assert last["action"] == "slot.moved"
    # bilingual as the other history reasons, without the other request's id
    assert last["reason"] == f"Verschoben für „{PUBLIC}“ / Moved for “{PUBLIC}”", last
    assert qr.json()["id"] not in last["reason"]
    # the owner of the request reads its own title as written, as ever
    assert client.get(f"/v1/requests/{qr.json()['id']}", headers=q.headers).json()["title"] == SECRET


def test_a_request_placed_again_when_a_blocker_withdrew_names_it_by_its_public_title(  # noqa: ANN001
        client, make_caller) -> None:
    z, r, p, q = (make_caller("utility") for _ in range(4))
    client.post("/v1/requests", json=_lane("2027-01-01", "2027-05-31", 151), headers=z.headers)
    client.post("/v1/requests", json=_lane("2027-07-01", "2027-12-31", 184), headers=r.headers)
    # P (the foreign request with the personal data) holds June and cannot go anywhere else
    pr = client.post("/v1/requests", json=_lane("2027-01-01", "2027-12-31", 30, "2027-06-01", title=SECRET),
                     headers=p.headers).json()
    assert (pr["slot"]["start"], pr["slot"]["end"]) == ("2027-06-01", "2027-06-30")
    qr = client.post("/v1/requests", json=_lane("2027-06-01", "2027-06-30", 30), headers=q.headers).json()
    assert qr["slot"] is None and qr["unplaced"]["blocking"] == [pr["id"]]
    w = client.post(f"/v1/requests/{pr['id']}/withdraw", json={"reason": "entfällt"}, headers=p.headers)
    assert w.status_code == 200, w.text
    got = client.get(f"/v1/requests/{qr['id']}", headers=q.headers)
    assert got.json()["slot"]["start"] == "2027-06-01"
    history = client.get(f"/v1/requests/{qr['id']}/history", headers=q.headers)
    assert not _leaks(got.text) and not _leaks(history.text)
    last = history.json()[-1]
    assert last["action"] == "slot.placed" and f"„{PUBLIC}“" in last["reason"] and f"“{PUBLIC}”" in last["reason"]
