import pytest

from service.scheduler import Conflict, Forbidden, Options, Precedence, Problem, Zone, check_plan
from service.scheduler.generator import generate
from service.scheduler.incremental import MOVE_PENALTY_DAYS, InsertionIndex

from .helpers import solved, task


def _problem():
    return Problem(
        [task("fixed", 10, fixed_start=10), task("mov", 5, es=0, le=60, pref=0), task("other", 5, pref=40)],
        conflicts=[Conflict(("fixed", "mov"))],
        zones=[Zone("Z", 1, {"other": 1})],
    )


def test_greedy_insertion_respects_fixed_tasks_and_moves_nothing():
    p = _problem()
    plan = solved(p)
    idx = InsertionIndex(p, plan)
    res = idx.insert(task("new", 4, es=0, le=60, pref=12), conflicts=["fixed"], repair=False)
    assert res.method == "greedy" and res.moved == {}
    # free starts around 12 given fixed on [10, 20): up to 6 (distance 6) or from 20 (distance 8)
    assert res.start == res.greedy_start == 6
    assert idx.starts["fixed"] == 10


def test_repair_moves_a_movable_neighbour_but_never_a_fixed_task():
    p = Problem(
        [task("fixed", 10, fixed_start=10), task("mov", 5, es=0, le=60, pref=0, w=1)],
        conflicts=[Conflict(("fixed", "mov"))],
    )
    plan = solved(p)
    assert plan.starts == {"fixed": 10, "mov": 0}
    idx = InsertionIndex(p, plan)
    # new must be in [0, 10) and conflicts with both: only fits if mov moves away
    res = idx.insert(task("new", 8, es=0, le=10, pref=0, w=5), conflicts=["fixed", "mov"], commit=True)
    assert res.greedy_start is None
    assert res.method == "cpsat" and res.start in (0, 1, 2)
    assert "fixed" not in res.moved and res.moved["mov"] >= 20
    # the committed state is a valid plan of the extended problem
    full = idx.problem
    assert check_plan(full, _Plan(dict(idx.starts))) == []


@pytest.mark.parametrize(("weight", "moves"), [(3, False), (5, True)])
def test_the_repair_moves_a_placed_neighbour_only_for_more_than_the_move_penalty(weight, moves):
    """"mov" sits on its preferred day 0; the new task wants day 0 too. Greedy puts it at 5 (cost 5 x weight);
    the repair could swap them (mov 5 days late: 5, plus MOVE_PENALTY_DAYS = 10 for moving a told slot). At
    weight 3 the swap saves nothing (15 against 15): nothing moves; at weight 5 it saves 10: mov moves."""
    assert MOVE_PENALTY_DAYS == 10
    p = Problem([task("mov", 5, es=0, le=60, pref=0, w=1)])
    idx = InsertionIndex(p, solved(p))
    res = idx.insert(task("new", 5, es=0, le=60, pref=0, w=weight), conflicts=["mov"])
    assert res.greedy_start == 5
    if moves:
        assert (res.method, res.start, res.moved) == ("cpsat", 0, {"mov": 5})
    else:
        assert (res.method, res.start, res.moved) == ("greedy", 5, {})


def test_the_repair_keeps_the_new_tasks_precedences():
    p = Problem([task("F", 20, fixed_start=0), task("M", 10, pref=10)])
    plan = solved(p)
    idx = InsertionIndex(p, plan)
    after_f = Precedence("F", "N", min_lag=30)  # N starts 30 days after F at the earliest
    # N wants day 10, where M is; moving M would free it, but the precedence keeps N at 30 or later
    res = idx.insert(task("N", 5, pref=10, w=5), conflicts=["M"], precedences=[after_f], commit=True)
    assert res.greedy_start == 30 and res.start == 30 and res.moved == {}
    assert idx.problem.precedences == [after_f]
    assert check_plan(idx.problem, _Plan(dict(idx.starts), idx.problem)) == []
    # a task inserted before N: N is placed, so the precedence binds the new task (and the repair's moves)
    before_n = Precedence("B", "N", min_lag=20, max_lag=25)
    res = idx.insert(task("B", 5, pref=0, w=5), conflicts=["M"], precedences=[before_n], commit=True)
    assert res.start == 5 and check_plan(idx.problem, _Plan(dict(idx.starts), idx.problem)) == []
    with pytest.raises(ValueError, match="must link X with a known task"):
        idx.insert(task("X", 5), precedences=[Precedence("nobody", "X")])
    assert "X" not in idx.occ.tasks and "X" not in idx.occ.prec  # refused before anything was indexed


class _Plan:
    def __init__(self, starts, problem=None):
        self.starts, self.mode = starts, "placement"
        self.unplaced = {t.id: "" for t in problem.tasks if t.id not in starts} if problem else {}


def test_insertion_honours_zone_and_forbidden_given_at_insert_time():
    p = _problem()
    plan = solved(p)
    idx = InsertionIndex(p, plan)
    res = idx.insert(task("new", 5, pref=40), zones_demand={"Z": 1}, forbidden=[Forbidden(45, 50, "Fest")])
    # [40, 45) is taken by "other" in zone Z (capacity 1); [45, 50) is forbidden -> 35 or 50
    assert res.start == 35


def test_insertion_stream_on_generated_instance_stays_valid():
    p = generate(n_tasks=300, n_zones=100, seed=3)
    plan = solved(p, Options(time_limit_s=10, explain=False))
    idx = InsertionIndex(p, plan)
    extra = generate(n_tasks=30, n_zones=100, seed=4)
    zone_of = {t: z.id for z in extra.zones for t in z.demands}
    for t in extra.tasks:
        t = t.__class__(**{**t.__dict__, "id": "new-" + t.id, "fixed_start": None})
        nb = [x.id for x in p.tasks[:300:37]]
        idx.insert(t, conflicts=nb, zones_demand={zone_of[t.id[4:]]: 1}, commit=True)
    assert check_plan(idx.problem, _Plan(dict(idx.starts), idx.problem)) == []
    fixed = {t.id: t.fixed_start for t in p.tasks if t.fixed_start is not None}
    assert all(idx.starts[k] == v for k, v in fixed.items())
