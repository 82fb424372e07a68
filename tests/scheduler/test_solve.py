"""Each hard constraint honoured, and the lexicographic objective on cases with known answers."""

from service.scheduler import Bundle, Conflict, Forbidden, Precedence, Problem, Zone, evaluate, fcfs

from .helpers import OPTS, solved, task


def test_window_clips_preferred_start():
    plan = solved(Problem([task("a", 5, es=10, le=20, pref=2)]))
    assert plan.starts == {"a": 10}


def test_forbidden_hole_pushes_to_nearest_allowed_start():
    t = task("a", 4, es=0, le=40, pref=10, forbidden=(Forbidden(11, 14, "Weihnachtsmarkt"),))
    plan = solved(Problem([t]))
    # starts 8..13 touch days 11..13; 7 is 3 away, 14 is 4 away
    assert plan.starts == {"a": 7}
    assert plan.explanations["a"]["blockers"][0]["ref"] == "Weihnachtsmarkt"


def test_fixed_start_never_moves_even_against_heavier_work():
    p = Problem(
        [task("fixed", 5, fixed_start=3, w=1), task("heavy", 5, es=0, le=8, pref=3, w=100)],
        conflicts=[Conflict(("fixed", "heavy"))],
    )
    plan = solved(p)
    assert plan.starts == {"fixed": 3}
    assert "heavy" in plan.unplaced


def test_conflict_clique_is_sequenced_optimally():
    p = Problem(
        [task("a", 2, pref=0, w=3), task("b", 2, pref=0, w=2), task("c", 2, pref=0, w=1)],
        conflicts=[Conflict(("a", "b", "c"), "one lane")],
    )
    plan = solved(p)
    assert plan.starts == {"a": 0, "b": 2, "c": 4}  # heaviest first: deviation 0*3 + 2*2 + 4*1
    assert plan.objective.weighted_deviation == 8
    assert plan.status == "optimal"


def test_zone_capacity_limits_concurrency():
    p = Problem(
        [task(f"t{i}", 5, pref=0, w=i + 1) for i in range(3)],
        zones=[Zone("Bochum-Mitte", 2, {"t0": 1, "t1": 1, "t2": 1})],
    )
    plan = solved(p)
    assert plan.starts == {"t2": 0, "t1": 0, "t0": 5}


def test_precedence_min_lag():
    p = Problem(
        [task("trench", 5, pref=0, w=10), task("surface", 3, pref=0)],
        precedences=[Precedence("trench", "surface", min_lag=5, max_lag=30)],
    )
    assert solved(p).starts == {"trench": 0, "surface": 5}


def test_precedence_max_lag_pulls_the_successor_forward():
    p = Problem(
        [task("trench", 5, pref=0, w=10), task("surface", 3, pref=40, w=1)],
        precedences=[Precedence("trench", "surface", min_lag=5, max_lag=7)],
    )
    # moving the trench (weight 10) is dearer than moving the surface (weight 1)
    assert solved(p).starts == {"trench": 0, "surface": 7}


def test_precedence_does_not_apply_when_a_partner_is_unplaced():
    p = Problem(
        [task("trench", 5, es=0, le=3), task("surface", 3, pref=0)],  # trench can never be placed
        precedences=[Precedence("trench", "surface", min_lag=5)],
    )
    plan = solved(p)
    assert plan.starts == {"surface": 0}
    assert "trench" in plan.unplaced


def test_heavy_task_beats_two_light_ones_when_only_one_fits():
    # all three need days [0, 10); heavy conflicts with both lights
    p = Problem(
        [
            task("light1", 10, le=10, w=2, submitted=0),
            task("light2", 10, le=10, w=2, submitted=1),
            task("heavy", 10, le=10, w=5, submitted=2),
        ],
        conflicts=[Conflict(("heavy", "light1")), Conflict(("heavy", "light2"))],
        zones=[Zone("z", 1, {"light1": 1, "light2": 1, "heavy": 1})],
    )
    plan = solved(p)
    assert set(plan.starts) == {"heavy"}
    assert plan.fcfs.objective.unplaced_work == 50 + 20  # FCFS took light1 first


def test_work_is_weight_times_duration():
    # heavy: 5 * 4 = 20 < two lights 2 * (1 * 15) = 30, and the lights do not conflict each other
    p = Problem(
        [task("heavy", 4, es=0, le=15, w=5), task("l1", 15, le=15), task("l2", 15, le=15)],
        conflicts=[Conflict(("heavy", "l1")), Conflict(("heavy", "l2"))],
    )
    plan = solved(p)
    assert set(plan.starts) == {"l1", "l2"}
    assert plan.objective.unplaced_work == 20
    assert plan.lower_bound == plan.upper_bound == 20


def test_deviation_is_second_level_after_placement():
    # placing both forces b far from its preferred start: still better than leaving b out
    p = Problem(
        [task("a", 10, pref=0, w=5), task("b", 10, es=0, le=100, pref=0, w=1)],
        conflicts=[Conflict(("a", "b"))],
    )
    plan = solved(p)
    assert plan.starts == {"a": 0, "b": 10}


def test_bundle_members_are_kept_together_on_ties():
    # a and c both want day 0 and conflict; either order costs deviation 5.
    # a is bundled with b, fixed on [0, 5): a first gives bundle span 5 instead of 10.
    p = Problem(
        [task("c", 5, pref=0, submitted=0), task("a", 5, pref=0, submitted=1), task("b", 5, fixed_start=0)],
        conflicts=[Conflict(("a", "c"))],
        bundles=[Bundle("dig-once", ("a", "b"))],
    )
    plan = solved(p)
    assert plan.fcfs.starts["c"] == 0  # the greedy hint has the wrong order
    assert plan.starts == {"a": 0, "b": 0, "c": 5}
    assert plan.objective.bundle_span == 5


def test_bundle_members_may_overlap_despite_a_conflict():
    p = Problem(
        [task("gas", 5, pref=0), task("water", 5, pref=0)],
        conflicts=[Conflict(("gas", "water"))],
        bundles=[Bundle("B", ("gas", "water"))],
    )
    assert solved(p).starts == {"gas": 0, "water": 0}


def test_plan_never_worse_than_fcfs_and_reports_components():
    p = Problem(
        [task(f"t{i}", 3 + i % 4, pref=i % 5, w=1 + i % 3, submitted=-i) for i in range(12)]
        + [task("lonely", 4, pref=7)],
        conflicts=[Conflict((f"t{i}", f"t{i + 1}")) for i in range(11)],
        zones=[Zone("z", 2, {f"t{i}": 1 for i in range(12)})],
    )
    plan = solved(p)
    assert plan.objective.lex_key() <= plan.fcfs.objective.lex_key()
    assert sorted(s.size for s in plan.stats) == [1, 12]
    assert evaluate(p, fcfs(p).starts) == plan.fcfs.objective


def test_progress_callback_reports_every_component():
    p = Problem([task("a", 1), task("b", 1), task("c", 1, pref=0)], conflicts=[Conflict(("a", "b"))])
    seen = []
    solved_plan = __import__("service.scheduler", fromlist=["solve"]).solve(
        p, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(1, 2), (2, 2)]
    assert solved_plan.status == "optimal"


def test_conflicting_fixed_tasks_make_the_component_infeasible():
    p = Problem([task("a", 5, fixed_start=0), task("b", 5, fixed_start=2)], conflicts=[Conflict(("a", "b"))])
    from service.scheduler import solve

    plan = solve(p)
    assert plan.status == "infeasible"


def test_a_task_worth_nothing_is_still_placed_where_it_fits():
    # z (weight 0) fits only at day 0; leaving it out would let a start on its preferred day. Placing a task
    # comes before deviation, even when the task adds no weighted work.
    p = Problem(
        [task("z", 5, es=0, le=5, w=0, submitted=0), task("a", 5, es=0, le=20, pref=0, submitted=1)],
        conflicts=[Conflict(("a", "z"))],
    )
    plan = solved(p)
    assert plan.starts == {"z": 0, "a": 5} and plan.unplaced == {}
    assert plan.objective.weighted_deviation == 5 and plan.status == "optimal"
    assert plan.lower_bound == 0 == plan.upper_bound


def test_worthless_tasks_never_cost_weighted_work():
    # two tasks of weight 0 compete with a heavy one for a one-lane road: the heavy one wins
    p = Problem(
        [task("z1", 4, es=0, le=4, w=0, submitted=0), task("z2", 4, es=4, le=8, w=0, submitted=1),
         task("h", 8, es=0, le=8, w=3, submitted=2)],
        conflicts=[Conflict(("h", "z1", "z2"))],
    )
    plan = solved(p)
    assert plan.starts == {"h": 0} and set(plan.unplaced) == {"z1", "z2"}
    assert plan.lower_bound == 0 == plan.upper_bound


def test_resolve_solves_again_only_the_components_of_the_changed_tasks():
    """A counter-proposal given up: the task gets a wider window; only its component is solved again and the
    plan of the whole problem (objective, bound, FCFS) is the one a full solve finds."""
    from dataclasses import replace

    from service.scheduler import check_plan, resolve, solve

    narrow = task("a", 5, es=0, le=8, pref=0, submitted=1)  # the counter window: the fixed site holds days 0..4
    others = [task("f", 5, fixed_start=0), task("b", 4, pref=3, submitted=2), task("c", 4, pref=3, submitted=3)]
    conflicts = [Conflict(("a", "f")), Conflict(("b", "c"))]
    first = solved(Problem([narrow, *others], conflicts=conflicts))
    assert "a" in first.unplaced
    b_stats = [s for s in first.stats if "b" in s.tasks]

    problem = Problem([replace(narrow, latest_end=30), *others], conflicts=conflicts)
    plan = resolve(problem, first, ["a"], OPTS)
    assert check_plan(problem, plan) == []
    assert plan.starts["a"] == 5 and plan.unplaced == {}
    assert {k: plan.starts[k] for k in ("b", "c")} == {k: first.starts[k] for k in ("b", "c")}
    assert [s for s in plan.stats if "b" in s.tasks][0] is b_stats[0]  # kept, not solved again
    full = solve(problem, OPTS)
    assert plan.objective.lex_key() == full.objective.lex_key()
    assert (plan.lower_bound, plan.upper_bound) == (full.lower_bound, full.upper_bound)
    assert plan.fcfs is not None and full.fcfs is not None
    assert (plan.fcfs.objective, plan.fcfs.unplaced_count) == (full.fcfs.objective, full.fcfs.unplaced_count)
    assert "a" in plan.explanations and plan.explanations.get("b") == first.explanations.get("b")
