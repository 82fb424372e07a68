"""The opportunities list reads its pages in the order of ``ix_opportunities_status_distance_id`` (migration 0026),
first page and cursor pages alike, instead of sorting every pair: the query's ORDER BY (status, distance_m, id)
and its cursor condition are the index's columns."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from service.conflicts import repository
from tests.conftest import site_body

INDEX = "ix_opportunities_status_distance_id"


def _fill(db: Session, client, city, sites: int = 300) -> None:  # noqa: ANN001
    """``sites`` copies of one request side by side and a dig-once pair for every two of them (44,850 for 300),
    a few accepted: a region's worth of pairs."""
    assert client.post("/v1/requests", json=site_body(), headers=city.headers).status_code == 201
    columns = [c for c in db.scalars(text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'site_requests' AND is_generated = 'NEVER' AND column_name NOT IN ('id', 'geom', "
        "'external_id')"))]
    names = ", ".join(f'"{c}"' for c in columns)
    db.execute(text(f"""
        INSERT INTO site_requests (id, geom, {names})
        SELECT gen_random_uuid(), ST_Translate(r.geom, n * 0.0005, 0), {", ".join(f'r."{c}"' for c in columns)}
        FROM site_requests r CROSS JOIN generate_series(1, :n) AS n"""), {"n": sites - 1})
    db.execute(text("""
        INSERT INTO opportunities (id, request_a, request_b, distance_m, gap_days, status)
        SELECT gen_random_uuid(), a.id, b.id, round((random() * 50)::numeric, 1), (random() * 180)::int,
               CASE WHEN random() < 0.01 THEN 'accepted' ELSE 'open' END
        FROM site_requests a JOIN site_requests b ON a.id < b.id"""))
    db.execute(text("ANALYZE site_requests"))
    db.execute(text("ANALYZE opportunities"))


def _plan(db: Session, **kwargs: Any) -> tuple[str, list]:
    """The plan PostgreSQL chooses for the list's real query (as ``repository.list_opportunities`` sends it), and
    the rows the query answers."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        if "FROM opportunities o" in statement:
            sent.append((statement, parameters))

    conn = db.connection()
    event.listen(conn, "before_cursor_execute", capture)
    try:
        rows = repository.list_opportunities(db, **kwargs)
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    [(statement, parameters)] = sent
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()
    return json.dumps(plan), rows


def test_pages_of_the_opportunities_list_are_read_by_the_index(db, client, city) -> None:  # noqa: ANN001
    _fill(db, client, city)
    first, rows = _plan(db, viewer_org=None, status=None, owners=[], bbox=None, limit=101)
    assert INDEX in first, first
    assert len(rows) == 101 and [r.status for r in rows[:3]] == ["accepted"] * 3
    last = rows[-1]
    after = (last.status, last.distance_m, last.id)
    for kwargs in ({"viewer_org": None, "status": None}, {"viewer_org": uuid.uuid4(), "status": None},
                   {"viewer_org": None, "status": "open"}):
        plan, page = _plan(db, owners=[], bbox=None, limit=101, after=after, **kwargs)
        assert INDEX in plan, (kwargs, plan)
        assert page and all((r.status, r.distance_m, r.id) > after for r in page)
        assert '"Node Type": "Sort"' not in plan, plan  # read in the index's order, not sorted
