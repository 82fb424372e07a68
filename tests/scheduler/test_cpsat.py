"""The CP-SAT model's redundant disjunctive constraints (makespan mode)."""

from service.scheduler.cpsat import ComponentModel, incompatible_pairs
from service.scheduler.model import Problem, Task, Zone


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
