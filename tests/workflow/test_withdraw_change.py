"""A pending change can be taken back by the organisation that asked for it (or the owner): the request and its
approved slot stay, the history says so, and a new change can be asked for at once."""

from __future__ import annotations

from tests.workflow.flow import approved, create, d, events, history

PROBLEM = "application/problem+json"


def ask(client, caller, rid: str, body: dict) -> dict:  # noqa: ANN001
    r = client.post(f"/v1/requests/{rid}/changes", json=body, headers=caller.headers)
    assert r.status_code == 201, r.text
    return r.json()


def take_back(client, caller, rid: str, cid: str, body: dict | None = None, **headers: str):  # noqa: ANN001, ANN201
    return client.post(f"/v1/requests/{rid}/changes/{cid}/withdraw", json=body, headers={**caller.headers, **headers})


def test_the_owner_takes_back_a_pending_change_and_asks_for_another(client, db, city, utility,  # noqa: ANN001
                                                                    coordinator) -> None:
    site = approved(client, city, coordinator, 10, title="Kanal")
    rid = site["id"]
    slot = client.get(f"/v1/requests/{rid}", headers=city.headers).json()["slot"]
    change = ask(client, city, rid, {"duration_days": 12, "reason": "Vertipper"})
    assert client.post(f"/v1/requests/{rid}/changes", json={"duration_days": 11},
                       headers=city.headers).status_code == 409  # one pending at a time

    # others may not: another organisation, and the coordination office for the owner's change
    for caller in (utility, coordinator):
        r = take_back(client, caller, rid, change["id"])
        assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM), r.text
    etag = client.get(f"/v1/requests/{rid}", headers=city.headers).headers["etag"]
    assert take_back(client, city, rid, change["id"], **{"If-Match": '"v0"'}).status_code == 412

    r = take_back(client, city, rid, change["id"], {"reason": "falsche Dauer"}, **{"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn"
    now = client.get(f"/v1/requests/{rid}", headers=city.headers).json()
    assert (now["status"], now["duration_days"], now["slot"]) == ("approved", 10, slot)
    row = history(db, rid)[-1]
    assert (row.action, row.reason, row.after) == ("change.withdrawn", "falsche Dauer", {"change_id": change["id"]})
    assert events(db, rid)[-1].kind == "change.withdrawn"

    # taken back once: a second time, or a decision on it, is refused
    assert take_back(client, city, rid, change["id"]).status_code == 409
    decided = client.post(f"/v1/requests/{rid}/changes/{change['id']}/approve", headers=coordinator.headers)
    assert decided.status_code == 409 and decided.json()["type"].endswith("/change-decided"), decided.text
    assert take_back(client, city, rid, "00000000-0000-0000-0000-000000000000").status_code == 404
    # and the owner asks for the change it meant
    assert ask(client, city, rid, {"duration_days": 11})["status"] == "pending"


def test_the_coordination_office_takes_back_the_order_it_asked_for(client, db, city, coordinator) -> None:  # noqa: ANN001
    site = approved(client, city, coordinator, 60, title="Deckschicht")
    trench = create(client, city, title="Graben", earliest_start=d(0), latest_end=d(59))
    change = ask(client, coordinator, site["id"], {"after": [{"request": trench["id"], "min_gap_days": 0,
                                                              "max_gap_days": None}]})
    r = take_back(client, coordinator, site["id"], change["id"])
    assert r.status_code == 200 and r.json()["status"] == "withdrawn", r.text
