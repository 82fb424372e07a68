from service.scheduler import Conflict, Problem, Zone, fcfs

from .helpers import task


def test_fcfs_takes_requests_in_submission_order_and_closest_start():
    p = Problem(
        [task("late", 5, pref=0, submitted=2.0), task("early", 5, pref=2, submitted=1.0)],
        conflicts=[Conflict(("late", "early"))],
    )
    g = fcfs(p)
    assert g.starts["early"] == 2
    # closest free start to 0 for "late": 0 would overlap [2,7); first free is 7 (distance 7)
    assert g.starts["late"] == 7


def test_fcfs_places_fixed_tasks_first():
    p = Problem(
        [task("x", 5, pref=0, submitted=0.0), task("fx", 5, pref=0, submitted=9.0, fixed_start=3)],
        conflicts=[Conflict(("x", "fx"))],
    )
    g = fcfs(p)
    assert g.starts == {"fx": 3, "x": 8}


def test_fcfs_respects_zone_capacity_and_leaves_unplaceable_out():
    p = Problem(
        [task(f"t{i}", 5, es=0, le=5, submitted=i) for i in range(3)],
        zones=[Zone("z", 2, {"t0": 1, "t1": 1, "t2": 1})],
    )
    g = fcfs(p)
    assert set(g.starts) == {"t0", "t1"}
    assert "t2" in g.unplaced
