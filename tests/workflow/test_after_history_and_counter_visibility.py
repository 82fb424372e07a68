"""The history records changes of the precedences (``after``), whoever makes them; a contest's
counter-proposal is read only by the owner and the coordinators."""

from __future__ import annotations

from tests.workflow.flow import create, d, history, ok


def patch_after(client, caller, rid: str, entries: list[dict]):  # noqa: ANN001, ANN201
    return client.patch(f"/v1/requests/{rid}", json={"after": entries},
                        headers={**caller.headers, "If-Match": "*"})


def link(rid: str, min_gap: int = 0, max_gap: int | None = None) -> dict:
    return {"request": rid, "min_gap_days": min_gap, "max_gap_days": max_gap}


def test_a_patch_of_only_after_leaves_a_history_row(client, db, city) -> None:  # noqa: ANN001
    a, b = create(client, city, title="A")["id"], create(client, city, title="B")["id"]
    rid = create(client, city, title="C")["id"]
    assert history(db, rid)[0].after["after"] == []  # the creation row holds the (empty) list
    first, second = sorted([a, b])
    r = patch_after(client, city, rid, [link(second, 2), link(first, 0, 7)])
    assert r.status_code == 200, r.text
    row = history(db, rid)[-1]
    assert (row.action, row.actor, row.organisation_id) == ("update", "owner", city.org_id)
    # the provisional slot is placed again after the edit (it may move): only "after" and "slot" can differ
    assert set(row.after) <= {"after", "slot"}
    assert row.before["after"] == [] and row.after["after"] == [link(first, 0, 7), link(second, 2)]  # sorted by id
    seen = client.get(f"/v1/requests/{rid}/history", headers=city.headers).json()[-1]
    assert seen["before"]["after"] == [] and seen["after"]["after"] == [link(first, 0, 7), link(second, 2)]
    # the same list in another order changes nothing: no new row
    n = len(history(db, rid))
    assert patch_after(client, city, rid, [link(first, 0, 7), link(second, 2)]).status_code == 200
    assert len(history(db, rid)) == n
    # a changed gap is a change
    assert patch_after(client, city, rid, [link(first, 1, 7), link(second, 2)]).status_code == 200
    row = history(db, rid)[-1]
    assert row.before["after"] == [link(first, 0, 7), link(second, 2)]
    assert row.after["after"] == [link(first, 1, 7), link(second, 2)]


def test_the_coordinators_ordering_of_another_organisations_request_is_recorded(  # noqa: ANN001
        client, db, city, utility, coordinator) -> None:
    trench = create(client, city, title="Graben")["id"]
    cable = create(client, utility, title="Kabel")["id"]
    r = patch_after(client, coordinator, cable, [link(trench, 3)])
    assert r.status_code == 200, r.text
    row = history(db, cable)[-1]
    assert (row.action, row.actor, row.organisation_id) == ("update", "coordinator", coordinator.org_id)
    assert (row.before["after"], row.after["after"]) == ([], [link(trench, 3)])
    # the owner reads who ordered its works
    seen = client.get(f"/v1/requests/{cable}/history", headers=utility.headers).json()[-1]
    assert seen["actor"] == "coordinator" and seen["organisation_id"] == str(coordinator.org_id)
    assert patch_after(client, coordinator, cable, []).status_code == 200
    row = history(db, cable)[-1]
    assert (row.actor, row.before["after"], row.after["after"]) == ("coordinator", [link(trench, 3)], [])


def test_the_counter_proposal_is_for_the_owner_and_the_coordinators_only(  # noqa: ANN001
        client, city, utility, coordinator) -> None:
    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    ok(client, city, rid, "contest", {"reason": "Schulferien", "counter_proposal": {"earliest_start": d(20),
                                                                                     "latest_end": d(40)}})
    for caller in (city, coordinator):
        slot = client.get(f"/v1/requests/{rid}", headers=caller.headers).json()["slot"]
        assert slot["counter_proposal"]["earliest_start"] == d(20)
        assert slot["counter_proposal"]["reason"] == "Schulferien"
    other = client.get(f"/v1/requests/{rid}", headers=utility.headers)
    assert other.status_code == 200  # the request and its slot are public ...
    got = other.json()
    assert got["status"] == "contested" and (got["slot"]["start"], got["slot"]["status"]) == (d(0), "proposed")
    assert "counter_proposal" not in got["slot"]  # ... the negotiation about it is not
    assert "Schulferien" not in other.text and d(40) not in other.text
