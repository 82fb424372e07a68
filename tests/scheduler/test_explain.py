from service.scheduler import Conflict, Forbidden, Precedence, Problem, Zone
from service.scheduler.explain import explain_plan

from .helpers import solved, task


def refs(expl: dict) -> set[str]:
    return {b["ref"] for b in expl["blockers"]}


def test_moved_task_names_the_conflicting_task_and_the_blocked_days():
    p = Problem(
        [task("main", 10, fixed_start=0), task("side", 4, pref=2)],
        conflicts=[Conflict(("main", "side"), "same crossing")],
    )
    plan = solved(p)
    assert plan.starts["side"] == 10
    ex = plan.explanations["side"]
    assert ex["status"] == "moved" and ex["deviation"] == 8
    assert ex["blockers"] == [{"kind": "conflict", "ref": "main", "days": [2, 10], "via": "same crossing"}]


def test_moved_task_names_zone_forbidden_and_precedence():
    p = Problem(
        [
            task("a", 5, fixed_start=0),
            task("b", 5, fixed_start=0),
            task("x", 3, pref=0, forbidden=(Forbidden(5, 7, "Kirmes"),)),
            task("y", 2, fixed_start=9),
        ],
        zones=[Zone("Gelsenkirchen", 2, {"a": 1, "b": 1, "x": 1})],
        precedences=[Precedence("y", "x", min_lag=1)],  # x must start after y's start
    )
    plan = solved(p)
    assert plan.starts["x"] == 10
    ex = plan.explanations["x"]
    kinds = {(b["kind"], b["ref"]) for b in ex["blockers"]}
    assert kinds == {("zone", "Gelsenkirchen"), ("forbidden", "Kirmes"), ("precedence", "y")}
    (zone,) = [b for b in ex["blockers"] if b["kind"] == "zone"]
    assert zone["tasks"] == ["a", "b"]  # the tasks filling the zone on the blocked days


def test_unplaced_explanation_is_a_minimal_blocking_set():
    # x needs 5 days within [0, 12): starts 0..7. big1 on [0, 4) rules out starts 0..3, big2 on
    # [7, 12) rules out 3..7: together they block every start. small on [0, 2) only rules out
    # 0..1 (redundant) and far is elsewhere: neither may appear.
    p = Problem(
        [
            task("big1", 4, fixed_start=0),
            task("big2", 5, fixed_start=7),
            task("small", 2, fixed_start=0),
            task("far", 3, fixed_start=50),
            task("x", 5, es=0, le=12),
        ],
        conflicts=[Conflict(("x", o)) for o in ("big1", "big2", "small", "far")],
    )
    plan = solved(p)
    assert "x" in plan.unplaced
    ex = plan.explanations["x"]
    assert refs(ex) == {"big1", "big2"}
    assert set(plan.unplaced["x"].blocking) == {"big1", "big2"}
    # after big2 ends on day 12 the task would fit: extend the window to day 17
    assert ex["nearest"]["extend_latest_end_to"] == 17


def test_unplaced_explanation_past_the_deadline_is_still_minimal_without_cpsat():
    import time

    p = Problem(
        [task("big1", 4, fixed_start=0), task("big2", 5, fixed_start=7), task("small", 2, fixed_start=0),
         task("x", 5, es=0, le=12)],
        conflicts=[Conflict(("x", o)) for o in ("big1", "big2", "small")],
    )
    starts = {"big1": 0, "big2": 7, "small": 0}
    late = explain_plan(p, starts, ["x"], deadline=time.perf_counter() - 1)["x"]
    assert refs(late) == {"big1", "big2"}
    assert late == explain_plan(p, starts, ["x"])["x"]


def test_unplaced_by_zone_and_forbidden_period():
    p = Problem(
        [task("a", 10, fixed_start=0), task("x", 4, es=0, le=14, forbidden=(Forbidden(10, 12, "Markt"),))],
        zones=[Zone("Z", 1, {"a": 1, "x": 1})],
    )
    plan = solved(p)
    ex = plan.explanations["x"]
    assert {(b["kind"], b["ref"]) for b in ex["blockers"]} == {("zone", "Z"), ("forbidden", "Markt")}
    assert [b["tasks"] for b in ex["blockers"] if b["kind"] == "zone"] == [["a"]]
    assert plan.unplaced["x"].blocking == ("Z", "a", "Markt")  # the zone and the task that fills it
    assert ex["code"] == "blocked"
    assert ex["nearest"]["extend_latest_end_to"] == 16


def test_unplaced_because_window_is_too_short():
    plan = solved(Problem([task("x", 10, es=0, le=5)]))
    assert plan.explanations["x"]["blockers"][0]["kind"] == "window"
    assert plan.explanations["x"]["code"] == "window_too_short"


def test_explain_plan_marks_left_out_tasks_that_would_fit():
    p = Problem([task("x", 2, es=0, le=10)])
    ex = explain_plan(p, {}, ["x"])
    assert "could start on day 0" in ex["x"]["reason"]
    assert (ex["x"]["code"], ex["x"]["free_from"]) == ("left_out", 0)


def test_a_corridor_clique_is_named_over_a_plain_pair():
    # x conflicts with a both by distance (a pair) and through a corridor's one-at-a-time clique
    p = Problem(
        [task("a", 5, fixed_start=0), task("b", 5, fixed_start=5), task("x", 3, pref=0)],
        conflicts=[Conflict(("a", "x"), "space"), Conflict(("a", "b", "x"), "corridor:B1")],
    )
    ex = solved(p).explanations["x"]
    assert {(b["ref"], b["via"]) for b in ex["blockers"]} == {("a", "corridor:B1"), ("b", "corridor:B1")}
