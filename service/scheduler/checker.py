"""Independent plan checker.

Deliberately separate from the models: it recomputes every hard constraint directly from the
problem and the plan's starts, using only plain loops (no shared helpers with the solvers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class _PlanLike(Protocol):
    starts: dict[str, int]
    unplaced: dict


@dataclass(frozen=True)
class Violation:
    # unknown | duplicate | missing | window | forbidden | fixed | conflict | zone | precedence | unplaced
    kind: str
    tasks: tuple[str, ...]
    message: str


def check_plan(problem, plan: _PlanLike, mode: str | None = None) -> list[Violation]:
    """Return every hard-constraint violation of ``plan`` for ``problem`` ([] when valid).

    ``mode`` defaults to ``plan.mode``; in makespan mode every task must be placed.
    """
    mode = mode or getattr(plan, "mode", "placement")
    out: list[Violation] = []
    tasks = {t.id: t for t in problem.tasks}
    starts = plan.starts
    unplaced = plan.unplaced

    for tid in starts:
        if tid not in tasks:
            out.append(Violation("unknown", (tid,), f"plan places unknown task {tid}"))
        if tid in unplaced:
            out.append(Violation("duplicate", (tid,), f"task {tid} is both placed and unplaced"))
    for tid in unplaced:
        if tid not in tasks:
            out.append(Violation("unknown", (tid,), f"plan lists unknown task {tid} as unplaced"))
    for tid, t in tasks.items():
        if tid not in starts and tid not in unplaced:
            out.append(Violation("missing", (tid,), f"task {tid} is neither placed nor unplaced"))
        if tid not in starts:
            if t.fixed_start is not None:
                out.append(Violation("fixed", (tid,), f"fixed task {tid} is not placed"))
            elif mode == "makespan":
                out.append(Violation("unplaced", (tid,), f"makespan mode: task {tid} is not placed"))
            continue
        s = starts[tid]
        e = s + t.duration
        if t.fixed_start is not None:
            if s != t.fixed_start:
                out.append(Violation("fixed", (tid,), f"task {tid} fixed at {t.fixed_start} moved to {s}"))
            continue
        if s < t.earliest_start or e > t.latest_end:
            out.append(
                Violation("window", (tid,), f"{tid} [{s},{e}) outside [{t.earliest_start},{t.latest_end})")
            )
        for f in t.forbidden:
            if t.duration > 0 and s < f.end and f.start < e:
                out.append(
                    Violation("forbidden", (tid,), f"task {tid} [{s},{e}) active in forbidden {f.label!r}")
                )

    in_bundle: set[frozenset[str]] = set()
    for b in problem.bundles:
        for x in b.tasks:
            for y in b.tasks:
                if x != y:
                    in_bundle.add(frozenset((x, y)))
    seen: set[frozenset[str]] = set()
    for c in problem.conflicts:
        ids = list(c.tasks)
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                a, b = ids[i], ids[j]
                pair = frozenset((a, b))
                if a == b or pair in seen or pair in in_bundle:
                    continue
                seen.add(pair)
                if a not in starts or b not in starts or a not in tasks or b not in tasks:
                    continue
                sa, ea = starts[a], starts[a] + tasks[a].duration
                sb, eb = starts[b], starts[b] + tasks[b].duration
                if sa < eb and sb < ea:
                    out.append(
                        Violation("conflict", (a, b), f"{a} [{sa},{ea}) overlaps {b} [{sb},{eb}) {c.label}")
                    )

    for z in problem.zones:
        events: dict[int, int] = {}
        for tid, q in z.demands.items():
            if tid in starts and tid in tasks and q > 0 and tasks[tid].duration > 0:
                s = starts[tid]
                events[s] = events.get(s, 0) + q
                events[s + tasks[tid].duration] = events.get(s + tasks[tid].duration, 0) - q
        level = 0
        days = sorted(events)
        for k, day in enumerate(days):
            level += events[day]
            if level > z.capacity:
                nxt = days[k + 1] if k + 1 < len(days) else day + 1
                users = tuple(
                    sorted(
                        tid
                        for tid in z.demands
                        if tid in starts and starts[tid] <= day < starts[tid] + tasks[tid].duration
                    )
                )
                out.append(
                    Violation("zone", users, f"zone {z.id}: load {level} > {z.capacity} on [{day},{nxt})")
                )

    for p in problem.precedences:
        if p.before in starts and p.after in starts:
            gap = starts[p.after] - starts[p.before]
            if gap < p.min_lag or (p.max_lag is not None and gap > p.max_lag):
                out.append(
                    Violation(
                        "precedence",
                        (p.before, p.after),
                        f"start({p.after}) - start({p.before}) = {gap} not in [{p.min_lag}, {p.max_lag}]",
                    )
                )
    return out
