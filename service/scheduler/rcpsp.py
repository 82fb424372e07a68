"""Adapter from standard project-scheduling benchmarks to the pure scheduler.

PSPLIB RCPSP (Patterson format) and RCPSP/max (ProGen/max ``.SCH``) are parsed with the ``psplib``
package (``instance_format="patterson"`` / ``"rcpsp_max"``). Mapping: activity -> task (id = its
0-based index, preferred start 0, weight 1, submitted = index, which is a topological order for
PSPLIB), renewable resource -> zone with its capacity and the per-activity demands, arc ->
precedence. Patterson arcs are finish-to-start (``min_lag = duration(before)``); RCPSP/max arcs
carry their own start-to-start lag, negative lags being maximum time lags in disguise. The horizon
is a safe bound: the sum over activities of max(duration, largest outgoing lag). Solve with
``Options(objective="makespan")``.

Reference data lives in ``../shared/data/benchmarks`` relative to the repository root, or in
``$BAUSTELLEN_SHARED_DATA/benchmarks``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from .model import Precedence, Problem, Task, Zone


def shared_data_dir() -> Path:
    env = os.environ.get("BAUSTELLEN_SHARED_DATA")
    if env:
        return Path(env)
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


def benchmarks_dir() -> Path:
    return shared_data_dir() / "benchmarks"


def _to_problem(instance, finish_to_start: bool) -> Problem:
    acts = instance.activities
    durations = [a.modes[0].duration for a in acts]
    precedences: list[Precedence] = []
    horizon = 0
    for i, a in enumerate(acts):
        lags = list(a.delays) if a.delays is not None else [durations[i]] * len(a.successors)
        if finish_to_start:
            lags = [durations[i]] * len(a.successors)
        for j, lag in zip(a.successors, lags, strict=True):
            precedences.append(Precedence(str(i), str(j), min_lag=lag))
        horizon += max([durations[i], *lags])
    tasks = [
        Task(str(i), d, 0, horizon, preferred_start=0, weight=1, submitted=i) for i, d in enumerate(durations)
    ]
    zones = []
    for r, res in enumerate(instance.resources):
        if not res.renewable:
            continue
        demands = {str(i): a.modes[0].demands[r] for i, a in enumerate(acts) if a.modes[0].demands[r] > 0}
        zones.append(Zone(f"R{r + 1}", res.capacity, demands))
    return Problem(tasks=tasks, zones=zones, precedences=precedences, horizon=horizon)


def load_patterson(path: str | Path) -> Problem:
    import psplib

    return _to_problem(psplib.parse(path, instance_format="patterson"), finish_to_start=True)


def load_rcpsp_max(path: str | Path) -> Problem:
    import psplib

    return _to_problem(psplib.parse(path, instance_format="rcpsp_max"), finish_to_start=False)


def load_bks() -> dict[tuple[str, str], int]:
    """Best-known makespans keyed by (set, file name), e.g. ("J30", "J30_1.txt")."""
    out: dict[tuple[str, str], int] = {}
    with open(benchmarks_dir() / "psplib-rcpsp" / "bks.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            out[(row["category"].split("-")[-1], row["instance"])] = int(row["bks"])
    return out


def load_rcpsp_max_optima(folder: str) -> dict[str, tuple[int, int] | None]:
    """Known (lower, upper) makespan bounds per file of an RCPSP/max folder (j10, j20, j30).

    ``None`` means proven infeasible; ``lower == upper`` is a proven optimum; ``optimum.csv`` writes
    still open instances as ``lb..ub``.
    """
    out: dict[str, tuple[int, int] | None] = {}
    with open(benchmarks_dir() / "rcpsp-max" / folder / "optimum.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            v = row["optimum"].strip()
            if v == "unsat":
                out[row["problem"]] = None
            elif ".." in v:
                lo, hi = v.split("..")
                out[row["problem"]] = (int(lo), int(hi))
            else:
                out[row["problem"]] = (int(v), int(v))
    return out


def sorted_instances(folder: Path, pattern: str) -> list[Path]:
    """Files in natural order (J30_2 before J30_10)."""

    def key(p: Path) -> tuple:
        digits = "".join(ch if ch.isdigit() else " " for ch in p.stem).split()
        return tuple(int(x) for x in digits) or (p.stem,)

    return sorted(folder.glob(pattern), key=key)
