"""Karlsruhe planning figure: the City of Karlsruhe's real sites (Datensatz „Baustellen“, CC BY 4.0), each
with a window of its published dates widened by 60 days on both sides, planned by the service.

Reports how many hard conflicts the published dates have and how many remain after planning (checked by the
independent plan checker on the slots read back from the database), how many days sites move in total and at
most, and the unplaced count, against first-come-first-served. Goals: zero violations in the stored plan,
and a plan never worse than FCFS.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from datetime import date, timedelta
from types import SimpleNamespace

from fastapi.testclient import TestClient
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import text

from benchmarks.common import bench_database, write_result
from service.app import create_app
from service.auth import service as auth
from service.kit.db import make_engine, make_sessionmaker, session_scope
from service.requests import loaders
from service.scheduler import check_plan
from service.slots import adapter, repository
from service.slots.service import run_plan

WIDEN_DAYS = 60


def _first_day(path) -> date:  # noqa: ANN001
    """The earliest published start (``von``) of the file."""
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return min(date.fromisoformat(f["properties"]["von"][:10]) for f in features if f["properties"].get("von"))


def _bbox(path) -> list[float]:  # noqa: ANN001
    import shapely
    from shapely.geometry import shape

    geoms = [shape(f["geometry"]) for f in json.loads(path.read_text())["features"] if f.get("geometry")]
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    return [round(x0 - 0.01, 4), round(y0 - 0.01, 4), round(x1 + 0.01, 4), round(y1 + 0.01, 4)]


def _stored_slots_check(session, scope, settings) -> dict:  # noqa: ANN001
    """Rebuild the problem from the database and check the slots stored there; also the published dates."""
    built = adapter.build(session, scope, settings)
    slots = repository.slots_of(session, [i.request_id for i in built.info.values()])
    tasks = built.problem.task_map()
    starts, unplaced, moved = {}, {}, []
    for tid, info in built.info.items():
        slot = slots.get(info.request_id)
        if tasks[tid].fixed_start is not None:
            starts[tid] = tasks[tid].fixed_start
        elif slot is not None and slot.start is not None:
            starts[tid] = built.day(slot.start)
            moved.append(abs(starts[tid] - tasks[tid].preferred))
        else:
            unplaced[tid] = "unplaced"
    violations = check_plan(built.problem, SimpleNamespace(starts=starts, unplaced=unplaced), "placement")
    published = {t.id: t.preferred if t.fixed_start is None else t.fixed_start for t in built.problem.tasks}
    at_published = check_plan(built.problem, SimpleNamespace(starts=published, unplaced={}), "placement")
    return {
        "tasks": len(tasks), "conflict_constraints": len(built.problem.conflicts),
        "violations_stored_plan": len(violations),
        "violations_published": dict(Counter(v.kind for v in at_published)),
        "moved_days_total": sum(moved), "moved_days_max": max(moved, default=0),
        "moved_sites": sum(m > 0 for m in moved), "unplaced": len(unplaced),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--time-limit", type=float, default=30.0)
    args = parser.parse_args(argv)
    console = Console()
    with bench_database("slots") as base:
        path = base.shared_data_dir / "real" / "karlsruhe" / "sites.geojson"
        # The published dates lie mostly in the past and no slot is granted before today: the service's day is
        # pinned to the first day of the widened windows, so every site can be planned as if the plan were new.
        settings = base.model_copy(update={"solver_time_limit_s": args.time_limit, "solver_workers": 2,
                                           "today": _first_day(path) - timedelta(days=WIDEN_DAYS)})
        factory = make_sessionmaker(make_engine(settings))
        total = loaders.count_features(path)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task("import Karlsruhe (with incremental placement)", total=total)
            t0 = time.perf_counter()
            with session_scope(factory) as session:
                summary = loaders.load_karlsruhe(session, path, settings, progress=lambda n: bar.advance(task, n))
            t_import = time.perf_counter() - t0
        with session_scope(factory) as session:
            session.execute(text(
                "update site_requests set earliest_start = earliest_start - :w, latest_end = latest_end + :w"),
                {"w": WIDEN_DAYS})
            first, last = session.execute(text("select min(earliest_start), max(latest_end) from site_requests")).one()
            org = auth.create_organisation(session, name="Koordinierung (Bench)", kind="coordinator")
            _, key = auth.create_key(session, org_id=org.id, role="coordinator")
        bbox = _bbox(path)
        body = {"bbox": bbox, "from": first.isoformat(), "to": last.isoformat()}
        with TestClient(create_app(settings)) as client:
            r = client.post("/v1/plans", json=body, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 202, r.text
            plan_id = r.json()["id"]
            with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f} %"),
                          TimeElapsedColumn(), console=console) as bar:
                task = bar.add_task("plan", total=1.0)
                t0 = time.perf_counter()
                status = run_plan(factory, plan_id, settings, on_progress=lambda p: bar.update(task, completed=p))
                t_plan = time.perf_counter() - t0
            got = client.get(f"/v1/plans/{plan_id}", headers={"Authorization": f"Bearer {key}"}).json()
        if status != "done":
            console.print(f"[red]plan failed[/red]: {got['error']}")
            return 1
        scope = adapter.Scope(first, last, tuple(bbox))  # type: ignore[arg-type]
        with session_scope(factory) as session:
            check = _stored_slots_check(session, scope, settings)
    stats, fcfs = got["statistics"], got["fcfs"]
    published_conflicts = check["violations_published"].get("conflict", 0)
    result = {
        "sites": total, "stored": summary.stored, "refused": len(summary.refused), "widened_by_days": WIDEN_DAYS,
        "period": [first.isoformat(), (first + timedelta(days=(last - first).days)).isoformat()],
        "import_with_incremental_placement_s": round(t_import, 2), "plan_wall_s": round(t_plan, 2),
        "time_limit_s": args.time_limit, "workers": 2,
        "conflict_constraints": stats["conflicts"], "components": stats["components"],
        "solver_status": stats["solver_status"], "component_status": stats["component_status"],
        "conflicts_at_published_dates": published_conflicts,
        "violations_at_published_dates": check["violations_published"],
        "conflicts_after_plan": check["violations_stored_plan"],
        "plan": {"placed": stats["placed"], "unplaced": stats["unplaced"], "moved_sites": stats["moved_requests"],
                 "moved_days_total": stats["moved_days_total"], "moved_days_max": stats["moved_days_max"],
                 "objective": stats["objective"], "lower_bound": stats["lower_bound"]},
        "fcfs": {"placed": fcfs["placed"], "unplaced": fcfs["unplaced"], "moved_days_total": fcfs["moved_days_total"],
                 "moved_days_max": fcfs["moved_days_max"], "objective": fcfs["objective"]},
        "stored_check": check, "attribution": "Datensatz „Baustellen“, Stadt Karlsruhe, CC BY 4.0",
        "date": date.today().isoformat(),
    }
    table = Table(title=f"Karlsruhe: {total} real sites, windows ±{WIDEN_DAYS} days, "
                        f"{args.time_limit:.0f} s, 2 workers")
    for col in ("", "published dates", "plan", "FCFS"):
        table.add_column(col, justify="right")
    table.add_row("hard conflicts remaining", str(published_conflicts), str(check["violations_stored_plan"]), "0")
    table.add_row("unplaced", "0", str(stats["unplaced"]), str(fcfs["unplaced"]))
    table.add_row("sites moved", "0", str(stats["moved_requests"]), "")
    table.add_row("days moved, total", "0", str(stats["moved_days_total"]), str(fcfs["moved_days_total"]))
    table.add_row("days moved, max", "0", str(stats["moved_days_max"]), str(fcfs["moved_days_max"]))
    table.add_row("unplaced work", "", str(stats["objective"]["unplaced_work"]),
                  str(fcfs["objective"]["unplaced_work"]))
    table.add_row("weighted deviation", "", str(stats["objective"]["weighted_deviation"]),
                  str(fcfs["objective"]["weighted_deviation"]))
    table.add_row("plan time (s)", "", f"{t_plan:.1f}", "")
    console.print(table)
    console.print("Datensatz „Baustellen“, Stadt Karlsruhe, CC BY 4.0")
    write_result("slots_karlsruhe", result)
    every_site_planned = stats["placed"] + stats["unplaced"] == summary.stored  # none left out of the plan
    ok = (check["violations_stored_plan"] == 0 and fcfs["plan_better_or_equal"] and stats["violations"] == 0
          and every_site_planned)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
