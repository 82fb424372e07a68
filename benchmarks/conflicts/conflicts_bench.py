"""Conflict figures against PostGIS:

1. the full conflict graph of 50,000 generated requests (``refresh_all``: one set-based ST_DWithin self-join
   on the GiST-indexed EPSG:25832 column plus time overlap, then COPY of the rows) — goal < 30 s;
2. ``POST /v1/conflicts/check`` of one planned request against 100,000 stored requests, p50/p95 through
   the real ASGI stack (auth included) — goal p95 < 20 ms.

Requests are bulk-inserted with one ``INSERT … SELECT generate_series`` (bench-local, not the API): sites
of 50–300 m across the Ruhr (6.70–7.60 E, 51.36–51.60 N), windows in 2027–2029 of 5–120 days, 10 % with a
diversion, 40 organisations.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta

from fastapi.testclient import TestClient
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import text

from benchmarks.common import bench_database, percentiles, write_result
from service.app import create_app
from service.auth import service as auth
from service.conflicts import service
from service.kit.db import make_engine, make_sessionmaker, session_scope

RUHR = (6.70, 51.36, 7.60, 51.60)
KINDS = ["gas", "water", "sewer", "district_heating", "power", "telecom", "road_maintenance", "road_construction",
         "tram_track", "building"]
IMPACTS = ["footway", "lane_reduction", "one_way", "full_closure"]

INSERT = text("""
INSERT INTO site_requests (id, owner_id, external_id, title, public_title, description, contact, kind, impact,
    modes, shift, urgency, status, geom, diversions_geom, earliest_start, latest_end, duration_days, bundle_with,
    geometry_notes, source, version)
SELECT gen_random_uuid(), (CAST(:owners AS uuid[]))[1 + (i % array_length(CAST(:owners AS uuid[]), 1))],
    'B-' || (:offset + i), 'Generierte Baustelle ' || (:offset + i),
    'Generierte Baustelle ' || (:offset + i), '', '{}'::jsonb,
    (CAST(:kinds AS text[]))[1 + floor(random() * array_length(CAST(:kinds AS text[]), 1))::int],
    (CAST(:impacts AS text[]))[1 + floor(random() * array_length(CAST(:impacts AS text[]), 1))::int],
    ARRAY['car']::varchar[], (ARRAY['continuous','continuous','continuous','day','night'])[1 + floor(random()*5)::int],
    'planned', 'submitted',
    ST_SetSRID(ST_MakeLine(ST_MakePoint(x, y), ST_MakePoint(x + dx, y + dy)), 4326),
    CASE WHEN random() < 0.1 THEN ST_Multi(ST_SetSRID(ST_MakeLine(ST_MakePoint(x - 0.004, y + 0.003),
         ST_MakePoint(x + 0.004, y + 0.003)), 4326)) END,
    s, s + d - 1, d, ARRAY[]::varchar[], '[]'::jsonb, 'bench', 1
FROM generate_series(1, :n) AS i,
LATERAL (SELECT :x0 + random() * (:x1 - :x0) + 0 * i AS x, :y0 + random() * (:y1 - :y0) AS y,
                (random() - 0.5) * 0.004 AS dx, (random() - 0.5) * 0.0025 AS dy,
                DATE '2027-01-01' + floor(random() * 1000)::int AS s, 5 + floor(random() * 116)::int AS d) g
""")


def bulk_insert(session, owners: list, n: int, offset: int) -> None:  # noqa: ANN001
    session.execute(INSERT, {"owners": [str(o) for o in owners], "kinds": KINDS, "impacts": IMPACTS, "n": n,
                             "offset": offset, "x0": RUHR[0], "x1": RUHR[2], "y0": RUHR[1], "y1": RUHR[3]})


def check_body(rng: random.Random) -> dict:
    lon, lat = rng.uniform(RUHR[0], RUHR[2]), rng.uniform(RUHR[1], RUHR[3])
    start = date(2027, 1, 1) + timedelta(days=rng.randrange(0, 1000))
    return {"geometry": {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.0015, lat + 0.0008]]},
            "earliest_start": start.isoformat(), "latest_end": (start + timedelta(days=59)).isoformat(),
            "impact": rng.choice(IMPACTS), "kind": rng.choice(KINDS[:8]),
            "diversions": [{"type": "LineString", "coordinates": [[lon - 0.003, lat + 0.002],
                                                                   [lon + 0.004, lat + 0.002]]}]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--graph", type=int, default=50_000)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=400)
    args = parser.parse_args(argv)
    console = Console()
    rng = random.Random(7)
    result: dict = {"graph_requests": args.graph, "stored_requests": args.stored}
    with bench_database("conflicts") as settings:
        factory = make_sessionmaker(make_engine(settings))
        with session_scope(factory) as session:
            session.execute(text("SELECT setseed(0.42)"))
            owners = [auth.create_organisation(session, name=f"Bench Org {i}", kind="city").id for i in range(40)]
            _, key = auth.create_key(session, org_id=owners[0], role="submitter")
        with Progress(console=console) as bar:
            task = bar.add_task("bulk insert", total=args.stored)
            inserted = 0

            def insert_up_to(target: int) -> None:
                """Insert generated requests in batches of 10,000 until ``target`` are stored."""
                nonlocal inserted
                while inserted < target:
                    n = min(10_000, target - inserted)
                    with session_scope(factory) as session:
                        bulk_insert(session, owners, n, inserted)
                    inserted += n
                    bar.advance(task, n)
                with session_scope(factory) as session:
                    session.execute(text("ANALYZE site_requests"))

            started = time.perf_counter()
            insert_up_to(args.graph)
            result["insert_s"] = round(time.perf_counter() - started, 1)

            graph_task = bar.add_task(f"conflict graph of {args.graph}", total=5)
            started = time.perf_counter()
            with session_scope(factory) as session:
                stats = service.refresh_all(session, progress=lambda _m: bar.advance(graph_task, 1),
                                            settings=settings)
            result["graph_s"] = round(time.perf_counter() - started, 2)
            result["graph_rows"] = stats
            with session_scope(factory) as session:
                counts = service.report_counts(session)
            result["graph_pairs"] = {"hard": counts["hard_pairs"], "same_owner_only": counts["same_owner_only_pairs"]}

            insert_up_to(args.stored)

        headers = {"Authorization": f"Bearer {key}"}
        with TestClient(create_app(settings)) as client:
            for _ in range(20):  # warm-up
                client.post("/v1/conflicts/check", json=check_body(rng), headers=headers)
            samples, found = [], 0
            with Progress(console=console) as bar:
                task = bar.add_task(f"check against {args.stored}", total=args.samples)
                for _ in range(args.samples):
                    body = check_body(rng)
                    t0 = time.perf_counter()
                    r = client.post("/v1/conflicts/check", json=body, headers=headers)
                    samples.append(time.perf_counter() - t0)
                    assert r.status_code == 200, r.text
                    found += len(r.json()["conflicts"])
                    bar.advance(task)
            result["check"] = percentiles(samples)
            result["check_mean_conflicts"] = round(found / args.samples, 2)

    goals = {"graph_under_30s": result["graph_s"] < 30, "check_p95_under_20ms": result["check"]["p95_ms"] < 20}
    result["goals"] = goals
    table = Table(title="Conflict detection")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("goal")
    table.add_row(f"full conflict graph, {args.graph:,} requests", f"{result['graph_s']} s", "< 30 s")
    table.add_row("  rows (pairs / rules / opportunities)",
                  f"{stats['pairs']} / {stats['moratorium'] + stats['blackout']} / {stats['opportunities']}", "")
    table.add_row(f"check p50, {args.stored:,} stored", f"{result['check']['p50_ms']} ms", "")
    table.add_row(f"check p95, {args.stored:,} stored", f"{result['check']['p95_ms']} ms", "< 20 ms")
    table.add_row("  conflicts per check (mean)", str(result["check_mean_conflicts"]), "")
    console.print(table)
    write_result("conflicts", result)
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
