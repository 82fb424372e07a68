"""Ruhr-like random instances for tests and benchmarks (deterministic for a given seed).

Sites are clustered along corridors (think B1/A40, the Emscher, rail lines) in a 60 x 40 km area.
Durations are lognormal with a median of about two months and a long tail up to about two years.
Each site gets a window with some slack, a preferred start inside it, a weight 1..10 (urgency and
traffic impact, higher on main corridors) and a submission time. Conflicts link sites closer than
``conflict_radius_km`` (pairs; the solver merges them into cliques). Zones are the cells of a grid
over the area (``n_zones`` of them) with a small capacity of concurrent sites. A share of sites get
blackouts (Christmas markets, fairs), a few are already approved (fixed, mutually compatible),
and a few precedences (trench before resurfacing, at most 30 days apart) and bundles are added.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import replace

from .model import Bundle, Conflict, Forbidden, Precedence, Problem, Task, Zone

WIDTH_KM, HEIGHT_KM = 60.0, 40.0

BLACKOUTS = [
    ("Weihnachtsmarkt", 325, 360),
    ("Cranger Kirmes", 215, 226),
    ("Ruhrfestspiele", 120, 160),
    ("Weihnachtsmarkt", 690, 725),
    ("Extraschicht", 540, 545),
]


def generate(
    n_tasks: int = 500,
    horizon: int = 730,
    n_zones: int = 400,
    seed: int = 0,
    conflict_radius_km: float = 0.35,
    zone_capacity: tuple[int, int] = (1, 3),
    slack_factor: float = 1.5,
    n_corridors: int = 30,
    fixed_share: float = 0.03,
) -> Problem:
    """A deterministic Ruhr-like problem; see the module docstring for what it contains."""
    rng = random.Random(seed)
    corridors = []
    for _ in range(n_corridors):
        x0, y0 = rng.uniform(0, WIDTH_KM), rng.uniform(0, HEIGHT_KM)
        angle = rng.gauss(0, 0.35) if rng.random() < 0.6 else rng.uniform(0, math.pi)
        corridors.append((x0, y0, angle, rng.random() < 0.3))  # last: main corridor
    points: list[tuple[float, float, bool]] = []
    for _ in range(n_tasks):
        x0, y0, angle, main = corridors[rng.randrange(n_corridors)]
        along = rng.uniform(-30, 30)
        x = min(max(x0 + along * math.cos(angle) + rng.gauss(0, 0.3), 0), WIDTH_KM)
        y = min(max(y0 + along * math.sin(angle) + rng.gauss(0, 0.3), 0), HEIGHT_KM)
        points.append((x, y, main))

    tasks: list[Task] = []
    for i, (_x, _y, main) in enumerate(points):
        d = max(1, min(int(round(rng.lognormvariate(math.log(60), 0.8))), horizon * 9 // 10))
        slack = int(d * rng.uniform(0.2, slack_factor)) + rng.randint(7, 60)
        es = rng.randint(0, max(0, horizon - d - slack))
        le = min(horizon, es + d + slack)
        pref = rng.randint(es, max(es, min(es + slack // 3, le - d)))
        weight = rng.randint(3, 10) if main else rng.randint(1, 6)
        forbidden: tuple[Forbidden, ...] = ()
        if rng.random() < 0.1:
            label, a, b = BLACKOUTS[rng.randrange(len(BLACKOUTS))]
            forbidden = (Forbidden(a, b, label),)
        tasks.append(
            Task(
                id=f"T{i:05d}",
                duration=d,
                earliest_start=es,
                latest_end=le,
                preferred_start=pref,
                weight=weight,
                submitted=rng.random() * 1000,
                forbidden=forbidden,
            )
        )

    cell = conflict_radius_km
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (x, y, _) in enumerate(points):
        grid[(int(x / cell), int(y / cell))].append(i)
    pairs: list[tuple[int, int]] = []
    for (gx, gy), members in grid.items():
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in grid.get((gx + dx, gy + dy), ()):
                    for i in members:
                        if i < j and math.dist(points[i][:2], points[j][:2]) <= conflict_radius_km:
                            pairs.append((i, j))
    pairs.sort()
    rng.shuffle(pairs)
    n_special = max(1, n_tasks // 100)
    bundles = [Bundle(f"B{k}", (tasks[i].id, tasks[j].id)) for k, (i, j) in enumerate(pairs[:n_special])]
    bundled = {frozenset(b.tasks) for b in bundles}
    precedences = []
    for i, j in pairs[n_special : 2 * n_special]:
        a, b = tasks[i], tasks[j]
        precedences.append(
            Precedence(a.id, b.id, min_lag=a.duration, max_lag=a.duration + 30, label="trench first")
        )
    conflicts = [
        Conflict((tasks[i].id, tasks[j].id), f"within {int(conflict_radius_km * 1000)} m")
        for i, j in sorted(pairs)
        if frozenset((tasks[i].id, tasks[j].id)) not in bundled
    ]

    cols = max(1, int(round(math.sqrt(n_zones * WIDTH_KM / HEIGHT_KM))))
    rows = max(1, math.ceil(n_zones / cols))
    demands: dict[int, dict[str, int]] = defaultdict(dict)
    for i, (x, y, _) in enumerate(points):
        c = min(int(x / WIDTH_KM * cols), cols - 1) + cols * min(int(y / HEIGHT_KM * rows), rows - 1)
        demands[c % n_zones][tasks[i].id] = 1
    zones = [Zone(f"Z{c:04d}", rng.randint(*zone_capacity), demands.get(c, {})) for c in range(n_zones)]

    problem = Problem(tasks, conflicts, zones, precedences, bundles, horizon)
    return _fix_some(problem, rng, fixed_share)


def _fix_some(problem: Problem, rng: random.Random, share: float) -> Problem:
    """Mark a share of tasks as approved at their preferred start, keeping them compatible."""
    from .greedy import Occupancy  # local import: the generator is otherwise standalone

    occ = Occupancy(Problem([], problem.conflicts, problem.zones, horizon=problem.horizon))
    occ.tasks = problem.task_map()
    linked = {p.before for p in problem.precedences} | {p.after for p in problem.precedences}
    linked |= {x for b in problem.bundles for x in b.tasks}
    chosen = set()
    for t in problem.tasks:
        if rng.random() >= share or t.id in linked or t.forbidden:
            continue
        p = t.preferred
        if any(a <= p <= b for a, b in occ.free_starts(t, [(p, p)])):
            occ.place(t.id, p)
            chosen.add(t.id)
    problem.tasks = [replace(t, fixed_start=t.preferred) if t.id in chosen else t for t in problem.tasks]
    return problem
