"""The CP-SAT model's redundant disjunctive constraints (makespan mode) and the bounds it reports."""

from service.scheduler.cpsat import ComponentModel, incompatible_pairs, proven_bound
from service.scheduler.model import Bundle, Options, Precedence, Problem, Task, Zone
from service.scheduler.solve import solve


def test_incompatible_pairs_are_exactly_those_exceeding_a_capacity():
    zones = [
        Zone("R1", 4, {"a": 3, "b": 2, "c": 1, "d": 1}),  # a+b=5, a+c=4 fits
        Zone("R2", 2, {"c": 2, "d": 1, "e": 2}),  # c+e, c+d, d+e all exceed 2
        Zone("R3", 5, {"x": 6, "a": 5}),  # x alone is above capacity: never a pair
    ]
    intervals = {x: object() for x in "abcde"} | {"x": object()}
    assert incompatible_pairs(zones, intervals) == {("a", "b"), ("c", "d"), ("c", "e"), ("d", "e")}


def test_tasks_without_an_interval_are_left_out():
    zone = Zone("R1", 1, {"a": 1, "b": 1, "z": 1})
    assert incompatible_pairs([zone], {"a": 1, "b": 1}) == {("a", "b")}


def test_makespan_model_gets_one_no_overlap_per_clique_placement_model_none():
    tasks = [Task(x, 2, 0, 20) for x in "abc"]
    problem = Problem(tasks=tasks, zones=[Zone("R1", 3, {"a": 2, "b": 2, "c": 2})])

    def no_overlaps(mode: str) -> list[list[int]]:
        cm = ComponentModel(problem, mode)  # keep the model alive while its proto is read
        return [list(c.no_overlap.intervals) for c in cm.model.proto.constraints if c.has_no_overlap()]

    assert [len(c) for c in no_overlaps("makespan")] == [3]
    assert no_overlaps("placement") == []


def test_bound_a_rounding_error_off_the_integer_is_not_truncated_above_the_optimum():
    assert [proven_bound(v) for v in (-6.999999999999999, -7.0, -6.5, 61.00000000001, 0.0)] == [-7, -7, -6, 61, 0]
    # found by the property test: CP-SAT proved -6.999999999999999 for a placed work of 7, and the plan claimed
    # at least 2 units of unplaced work while leaving only 1 unplaced
    tasks = [Task(f"t{i}", 1, 0, 1, preferred_start=0, weight=w, submitted=0) for i, w in enumerate((1, 0, 3, 4))]
    problem = Problem(tasks, zones=[Zone("z", 0, {"t0": 1})], precedences=[Precedence("t3", "t0", 0)],
                      bundles=[Bundle("b", ("t0", "t1", "t2"))])
    plan = solve(problem, Options(time_limit_s=10, num_workers=2, seed=0))
    assert plan.objective.unplaced_work == 1 and plan.lower_bound == 1
