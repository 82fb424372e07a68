"""Split a problem into independent components, and cover conflict edges with cliques.

Two tasks are in the same component when they are linked by a conflict, a precedence, a bundle,
or a zone that can actually be exceeded (sum of its demands > capacity; any other zone never binds
and is dropped). Components share nothing, so each can be solved on its own and the plans united.
"""

from __future__ import annotations

from collections import defaultdict

from .model import Problem, Zone


class _UnionFind:
    def __init__(self, items: list[str]) -> None:
        self.parent = {x: x for x in items}

    def find(self, x: str) -> str:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def binding_zones(problem: Problem) -> list[Zone]:
    """Zones whose capacity can be exceeded by their positive demands."""
    return [z for z in problem.zones if sum(q for q in z.demands.values() if q > 0) > z.capacity]


def split_components(problem: Problem) -> list[list[str]]:
    """Connected components (lists of task ids in input order), largest last."""
    ids = [t.id for t in problem.tasks]
    uf = _UnionFind(ids)

    def link(members: list[str]) -> None:
        for m in members[1:]:
            uf.union(members[0], m)

    for c in problem.conflicts:
        link(list(c.tasks))
    for z in binding_zones(problem):
        link([t for t, q in z.demands.items() if q > 0])
    for p in problem.precedences:
        uf.union(p.before, p.after)
    for b in problem.bundles:
        link(list(b.tasks))
    groups: dict[str, list[str]] = defaultdict(list)
    for tid in ids:
        groups[uf.find(tid)].append(tid)
    return sorted(groups.values(), key=lambda g: (len(g), g[0]))


def restrict(problem: Problem, ids: list[str]) -> Problem:
    """The sub-problem on ``ids`` (a union of components): only binding zones are kept."""
    keep = set(ids)
    zones = []
    for z in binding_zones(problem):
        demands = {t: q for t, q in z.demands.items() if t in keep and q > 0}
        if demands:
            zones.append(Zone(z.id, z.capacity, demands))
    return Problem(
        tasks=[t for t in problem.tasks if t.id in keep],
        conflicts=[c for c in problem.conflicts if c.tasks[0] in keep],
        zones=zones,
        precedences=[p for p in problem.precedences if p.before in keep],
        bundles=[b for b in problem.bundles if b.tasks and b.tasks[0] in keep],
        horizon=problem.horizon,
    )


def conflict_edges(problem: Problem) -> set[tuple[str, str]]:
    """Pairwise conflict edges (a < b), without pairs that share a bundle."""
    bundle_pairs = problem.bundle_pairs()
    edges: set[tuple[str, str]] = set()
    for c in problem.conflicts:
        members = sorted(set(c.tasks))
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if frozenset((a, b)) not in bundle_pairs:
                    edges.add((a, b))
    return edges


def clique_cover(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Greedy cover of the edges by cliques: one NoOverlap per clique instead of one per pair.

    For each still uncovered edge (highest degree first) the clique {a, b} is grown by common
    neighbours, preferring those that cover the most uncovered edges. Every edge ends up in at least
    one clique; a clique only ever contains pairwise adjacent tasks.
    """
    adj: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    uncovered = set(edges)
    cliques: list[list[str]] = []
    order = sorted(edges, key=lambda e: (-(len(adj[e[0]]) + len(adj[e[1]])), e))
    for a, b in order:
        if (a, b) not in uncovered:
            continue
        clique = [a, b]
        cands = adj[a] & adj[b]
        while cands:

            def gain(v: str, clique: list[str] = clique) -> tuple[int, int, str]:
                new = sum(1 for m in clique if (min(m, v), max(m, v)) in uncovered)
                return (new, len(adj[v]), v)

            # grow to a maximal clique: extra members only strengthen the propagation
            best = max(cands, key=gain)
            clique.append(best)
            cands &= adj[best]
        for i, x in enumerate(clique):
            for y in clique[i + 1 :]:
                uncovered.discard((min(x, y), max(x, y)))
        cliques.append(sorted(clique))
    return cliques
