"""PSPLIB RCPSP (J30/J60/J120) and RCPSP/max benchmark of the scheduling core (makespan mode).

Default: all 480 J30, every 8th J60 and every 10th J120 file (60 each) with 60 s per instance,
and every unsat RCPSP/max instance (must be proven infeasible). ``--quick``: a small smoke subset.
``--full``: every instance of every set. Writes benchmarks/results/psplib_bench.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from benchmarks.scheduler._common import RESULTS, Counter, percentile, write_json
from service.scheduler import Options, check_plan, solve
from service.scheduler.rcpsp import (
    benchmarks_dir,
    load_bks,
    load_patterson,
    load_rcpsp_max,
    load_rcpsp_max_optima,
    sorted_instances,
)


def run_psplib(name: str, files, limit: float, workers: int, bks: dict, on_row=None) -> dict:
    """Solve every file; ``on_row(partial_summary)`` after each, so an interrupted run keeps what it did."""
    rows = []
    counter = Counter(name, len(files))
    for path in files:
        problem = load_patterson(path)
        t0 = time.perf_counter()
        plan = solve(problem, Options(time_limit_s=limit, num_workers=workers, seed=0, objective="makespan"))
        wall = time.perf_counter() - t0
        violations = check_plan(problem, plan)
        best = bks[(name, path.name)]
        mk = plan.objective.makespan
        rows.append(
            {
                "instance": path.name,
                "makespan": mk,
                "bks": best,
                "optimal": plan.status == "optimal",
                "gap_pct": 100.0 * (mk - best) / best,
                "below_bks": mk < best,
                "lower_bound": plan.lower_bound,
                "time_s": wall,
                "violations": len(violations),
            }
        )
        counter.step(f"{path.name} {mk} (bks {best}) {wall:.2f}s")
        if on_row is not None:
            on_row(_summarise(name, rows))
    return _summarise(name, rows)


def _summarise(name: str, rows: list[dict]) -> dict:
    times = [r["time_s"] for r in rows]
    return {
        "set": name,
        "instances": len(rows),
        "optimal": sum(r["optimal"] for r in rows),
        "optimal_pct": 100.0 * sum(r["optimal"] for r in rows) / max(len(rows), 1),
        "at_bks": sum(r["makespan"] == r["bks"] for r in rows),
        "mean_gap_pct": statistics.fmean(r["gap_pct"] for r in rows) if rows else 0.0,
        "below_bks": sum(r["below_bks"] for r in rows),
        "violations": sum(r["violations"] for r in rows),
        "max_time_s": max(times, default=0.0),
        "median_time_s": statistics.median(times) if times else 0.0,
        "p95_time_s": percentile(times, 95),
        "under_1s": sum(t < 1.0 for t in times),
        "total_time_s": sum(times),
        "rows": rows,
    }


def run_rcpsp_max(folder: str, names: list[str], limit: float, workers: int) -> dict:
    optima = load_rcpsp_max_optima(folder)
    rows = []
    counter = Counter(f"rcpsp-max/{folder}", len(names))
    for name in names:
        problem = load_rcpsp_max(benchmarks_dir() / "rcpsp-max" / folder / name)
        t0 = time.perf_counter()
        plan = solve(problem, Options(time_limit_s=limit, num_workers=workers, seed=0, objective="makespan"))
        wall = time.perf_counter() - t0
        known = optima[name]
        row = {"instance": name, "known": known, "status": plan.status, "time_s": wall}
        if known is None:
            row["ok"] = plan.status == "infeasible"
        else:
            row["makespan"] = plan.objective.makespan
            row["violations"] = len(check_plan(problem, plan))
            row["ok"] = plan.status in ("optimal", "feasible") and known[0] <= plan.objective.makespan
            row["below_lower_bound"] = plan.objective.makespan < known[0]
        rows.append(row)
        counter.step(f"{name} {plan.status} {wall:.2f}s")
    unsat = [r for r in rows if r["known"] is None]
    return {
        "folder": folder,
        "instances": len(rows),
        "unsat": len(unsat),
        "unsat_proven": sum(r["status"] == "infeasible" for r in unsat),
        "feasible_optimal": sum(r["status"] == "optimal" for r in rows if r["known"] is not None),
        "feasible_at_known_optimum": sum(
            r["known"] is not None and r["known"][0] == r["known"][1] == r.get("makespan") for r in rows
        ),
        "below_lower_bound": sum(bool(r.get("below_lower_bound")) for r in rows),
        "false_infeasible": sum(r["known"] is not None and r["status"] == "infeasible" for r in rows),
        "max_time_s": max((r["time_s"] for r in rows), default=0.0),
        "total_time_s": sum(r["time_s"] for r in rows),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small smoke-test subset")
    mode.add_argument("--full", action="store_true", help="every instance of every set")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per J60/J120/RCPSP-max instance")
    ap.add_argument("--j30-time-limit", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", choices=["j30", "j60", "j120", "max"], action="append")
    args = ap.parse_args(argv)
    base = benchmarks_dir()
    bks = load_bks()
    sets = {s: sorted_instances(base / "psplib-rcpsp" / s, "*.txt") for s in ("J30", "J60", "J120")}
    if args.quick:
        pick = {"J30": sets["J30"][::48], "J60": sets["J60"][::120], "J120": sets["J120"][::150]}
    elif args.full:
        pick = sets
    else:
        pick = {"J30": sets["J30"], "J60": sets["J60"][::8], "J120": sets["J120"][::10]}
    only = set(args.only or ["j30", "j60", "j120", "max"])
    out_name = "psplib_bench" + ("_quick" if args.quick else "_full" if args.full else "")
    t0 = time.perf_counter()
    summary: dict = {
        "workers": args.workers,
        "time_limit_s": args.time_limit,
        "mode": "quick" if args.quick else "full" if args.full else "default",
        "sets": {},
        "rcpsp_max": {},
    }
    previous = RESULTS / f"{out_name}.json"
    if args.only and previous.exists():  # a partial run updates its sets and keeps the others' results
        summary |= {k: v for k, v in json.loads(previous.read_text()).items() if k in ("sets", "rcpsp_max")}
    for name, files in pick.items():
        if name.lower() not in only:
            continue
        limit = args.j30_time_limit if name == "J30" else args.time_limit

        def keep(partial: dict, name: str = name) -> None:  # partial results survive an interrupted run
            summary["sets"][name] = partial
            write_json(out_name, summary)

        summary["sets"][name] = run_psplib(name, files, limit, args.workers, bks, on_row=keep)
        write_json(out_name, summary)
    if "max" in only:
        for folder in ("j10", "j20", "j30"):
            optima = load_rcpsp_max_optima(folder)
            names = [p.name for p in sorted_instances(base / "rcpsp-max" / folder, "PSP*.SCH")]
            if args.full:
                chosen = names
            else:
                chosen = [n for n in names if optima[n] is None]  # every unsat instance
                if args.quick:
                    chosen = chosen[:5] + [n for n in names if optima[n] is not None][:5]
            summary["rcpsp_max"][folder] = run_rcpsp_max(folder, chosen, args.time_limit, args.workers)
            write_json(out_name, summary)
    summary["total_time_s"] = time.perf_counter() - t0

    print(
        f"\n{'set':<8}{'n':>5}{'optimal':>9}{'opt %':>8}{'at bks':>8}{'gap %':>8}{'<1s':>6}"
        f"{'max s':>8}{'viol':>6}{'<bks':>6}"
    )
    for name, s in summary["sets"].items():
        print(
            f"{name:<8}{s['instances']:>5}{s['optimal']:>9}{s['optimal_pct']:>8.1f}{s['at_bks']:>8}"
            f"{s['mean_gap_pct']:>8.2f}{s['under_1s']:>6}{s['max_time_s']:>8.2f}{s['violations']:>6}"
            f"{s['below_bks']:>6}"
        )
    print(f"\n{'rcpsp/max':<10}{'n':>5}{'unsat':>7}{'proven':>8}{'opt':>6}{'false inf':>10}{'max s':>8}")
    for folder, s in summary["rcpsp_max"].items():
        print(
            f"{folder:<10}{s['instances']:>5}{s['unsat']:>7}{s['unsat_proven']:>8}{s['feasible_optimal']:>6}"
            f"{s['false_infeasible']:>10}{s['max_time_s']:>8.2f}"
        )
    print(f"\ntotal wall time {summary['total_time_s']:.1f}s")
    print("written", write_json(out_name, summary))
    return 0 if goals_met(summary) else 1


def goals_met(summary: dict) -> bool:
    """The issue's goals: J30 all optimal and each under 1 s; >= 90 % of the J60 sample optimal; J120 mean gap
    <= 3 %; no plan below a known optimum; every RCPSP/max unsat instance proven infeasible, none falsely."""
    sets = summary["sets"]
    ok = all(s["below_bks"] == 0 and s["violations"] == 0 for s in sets.values())
    if "J30" in sets:
        ok = ok and sets["J30"]["optimal"] == sets["J30"]["instances"] and sets["J30"]["max_time_s"] < 1.0
    if "J60" in sets:
        ok = ok and sets["J60"]["optimal_pct"] >= 90.0
    if "J120" in sets:
        ok = ok and sets["J120"]["mean_gap_pct"] <= 3.0
    for s in summary["rcpsp_max"].values():
        ok = ok and s["unsat_proven"] == s["unsat"] and s["false_infeasible"] == 0
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
