"""Foundation figures: bulk import of 10,000 generated requests, POST /v1/requests and a bbox GET
returning 500 sites (p50/p95), through the real ASGI stack against PostGIS."""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta

from fastapi.testclient import TestClient
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks.common import bench_database, percentiles, write_result
from service.app import create_app
from service.auth import service as auth
from service.kit.db import make_engine, make_sessionmaker, session_scope

RUHR = (6.70, 51.36, 7.60, 51.60)
KINDS = ["gas", "water", "sewer", "district_heating", "power", "telecom", "road_maintenance", "road_construction"]
IMPACTS = ["footway", "lane_reduction", "one_way", "full_closure"]


def generated_body(rng: random.Random, i: int) -> dict:
    lon = rng.uniform(RUHR[0], RUHR[2])
    lat = rng.uniform(RUHR[1], RUHR[3])
    angle, length = rng.uniform(0, 3.14), rng.uniform(0.0005, 0.003)
    coords = [[lon, lat], [lon + length * rng.uniform(-1, 1), lat + length * rng.uniform(-1, 1)]]
    start = date(2027, 1, 1) + timedelta(days=rng.randrange(0, 600))
    duration = max(1, int(rng.lognormvariate(4.0, 0.8)))
    window = duration + rng.randrange(0, 120)
    del angle
    return {
        "title": f"Generierte Baustelle {i}", "kind": rng.choice(KINDS), "impact": rng.choice(IMPACTS),
        "modes": ["car"], "geometry": {"type": "LineString", "coordinates": coords},
        "earliest_start": start.isoformat(), "latest_end": (start + timedelta(days=window - 1)).isoformat(),
        "duration_days": duration, "external_id": f"GEN-{i}",
        "contact": {"name": "Bauleitung", "email": "bau@example.org"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args(argv)
    rng = random.Random(42)
    console = Console()
    with bench_database("requests") as settings:
        with session_scope(make_sessionmaker(make_engine(settings))) as session:
            org = auth.create_organisation(session, name="Bench Stadt", kind="city")
            _, key = auth.create_key(session, org_id=org.id, role="submitter")
        headers = {"Authorization": f"Bearer {key}"}
        with TestClient(create_app(settings)) as client, Progress(console=console) as bar:
            task = bar.add_task("bulk import", total=args.requests)
            batch, started = 1000, time.perf_counter()
            for offset in range(0, args.requests, batch):
                features = [{"type": "Feature", "geometry": (b := generated_body(rng, i)).pop("geometry"),
                             "properties": b} for i in range(offset, min(offset + batch, args.requests))]
                r = client.post("/v1/requests/import", json={"type": "FeatureCollection", "features": features},
                                headers=headers)
                assert r.status_code == 200 and r.json()["refused"] == 0, r.text[:500]
                bar.advance(task, len(features))
            import_s = time.perf_counter() - started

            task = bar.add_task("POST /v1/requests", total=args.samples)
            post = []
            for i in range(args.samples):
                body = generated_body(rng, args.requests + i)
                t0 = time.perf_counter()
                r = client.post("/v1/requests", json=body, headers=headers)
                post.append(time.perf_counter() - t0)
                assert r.status_code == 201, r.text[:300]
                bar.advance(task)

            # a bbox that holds at least 500 sites; the page asks for 500
            bbox = "6.95,51.40,7.25,51.55"
            task = bar.add_task("GET bbox (500 sites)", total=args.samples)
            get = []
            for _ in range(args.samples):
                t0 = time.perf_counter()
                r = client.get("/v1/requests", params={"bbox": bbox, "limit": 500}, headers=headers)
                get.append(time.perf_counter() - t0)
                assert r.status_code == 200 and len(r.json()["features"]) == 500
                bar.advance(task)
    result = {
        "requests": args.requests,
        "bulk_import_s": round(import_s, 1),
        "bulk_import_per_s": round(args.requests / import_s),
        "post_request": percentiles(post),
        "get_bbox_500": percentiles(get),
    }
    table = Table("figure", "value", title="Foundation (requests)")
    table.add_row(f"bulk import of {args.requests} (POST /v1/requests/import, 1,000 per call)",
                  f"{result['bulk_import_s']} s ({result['bulk_import_per_s']}/s)")
    for name in ("post_request", "get_bbox_500"):
        p = result[name]
        table.add_row(name, f"p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms")
    console.print(table)
    write_result("requests", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
