"""The write of a plan run: each request's conflicts recomputed once (not once per proposal and again at the end),
the stored conflicts afterwards equal to a full recompute, and a re-run that changes nothing writes nothing."""

from __future__ import annotations

from sqlalchemy import event, text

from service.conflicts import service as conflicts
from tests.conftest import site_body
from tests.slots.helpers import plan

ROWS = text("""select kind, hard, request_a::text, coalesce(request_b::text, ''), overlap_start, overlap_end
               from conflicts order by 1, 2, 3, 4, 5, 6""")


def _sites(client, city, utility, telecom) -> list[str]:  # noqa: ANN001
    """Four works on one street in one window, two of them the city's (which may overlap: a ``same_owner`` row)."""
    ids = []
    for caller, kind in ((city, "sewer"), (city, "gas"), (utility, "water"), (telecom, "telecom")):
        r = client.post("/v1/requests", json=site_body(kind=kind, impact="lane_reduction"), headers=caller.headers)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def test_a_plan_recomputes_each_requests_conflicts_once_and_they_equal_a_full_recompute(
        client, city, utility, make_caller, coordinator, factory, settings, db, connection) -> None:  # noqa: ANN001
    ids = _sites(client, city, utility, make_caller("utility"))
    assert db.execute(ROWS).all()  # the stored rows follow the slots (of a plan, or placed at the request)
    refreshed: list[str] = []

    def count(conn, cursor, statement, params, context, executemany) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("DELETE FROM CONFLICTS") and "request_a" in statement:
            refreshed.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        got = plan(client, coordinator, factory, settings)
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert got["status"] == "done", got["error"]
    assert got["statistics"]["slots"]["proposed"] == 4
    # one recomputation per request at the plan's end; before, every proposal recomputed its request's conflicts
    # and the plan did it again for the moved ones
    assert len(refreshed) <= len(ids), len(refreshed)
    stored = db.execute(ROWS).all()
    conflicts.refresh_all(db, settings=settings)
    assert db.execute(ROWS).all() == stored


def test_a_rerun_that_changes_nothing_writes_no_history_and_no_slot_events(
        client, city, utility, make_caller, coordinator, factory, settings, db) -> None:  # noqa: ANN001
    _sites(client, city, utility, make_caller("utility"))
    first = plan(client, coordinator, factory, settings)
    assert first["status"] == "done" and first["statistics"]["slots"]["proposed"] == 4
    counts = text("""select (select count(*) from request_history), (select count(*) from events
                     where kind not like 'plan.%'), (select string_agg(version::text, ',' order by id)
                     from site_requests), (select string_agg(updated_at::text, ',' order by request_id)
                     from slots)""")
    before = db.execute(counts).one()
    again = plan(client, coordinator, factory, settings)
    assert again["status"] == "done" and again["statistics"]["slots"] == {
        "proposed": 0, "unchanged": 4, "unplaced": 0, "stale": 0}
    assert db.execute(counts).one() == before
