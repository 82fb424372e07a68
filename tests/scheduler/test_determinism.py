"""A plan's explanations do not depend on the process: a re-plan of an unchanged problem in another worker
process must find nothing to rewrite (each rewrite is a new version of the request, a new ETag, a 412 for an
owner holding the old one). Python's string hashing differs per process (``PYTHONHASHSEED``), so anything
iterated from a set of task ids would list the blockers in another order there."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# A task wanting day 0 pushed to day 120 by twelve fixed sites, one after the other, each its own conflict
SCRIPT = """
import json
from service.scheduler import Conflict, Problem, Task
from service.scheduler.explain import explain_plan

blockers = [f"site-{k:02d}-{'abcdefghijkl'[k] * 3}" for k in range(12)]
tasks = [Task(b, 10, 0, 400, 10 * k, 1, 0.0, fixed_start=10 * k) for k, b in enumerate(blockers)]
tasks.append(Task("new", 10, 0, 400, 0, 1, 1.0))
problem = Problem(tasks, conflicts=[Conflict((b, "new"), "space") for b in blockers])
starts = {t.id: t.fixed_start if t.fixed_start is not None else 120 for t in tasks}
print(json.dumps(explain_plan(problem, starts, [], workers=2, seed=0), sort_keys=True))
"""


def _explanations(hash_seed: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True,
                          timeout=120)
    return json.loads(done.stdout)


def test_explanations_list_blockers_in_the_same_order_in_every_process() -> None:
    first = _explanations("1")
    assert [b["ref"] for b in first["new"]["blockers"]] == [f"site-{k:02d}-{'abcdefghijkl'[k] * 3}"
                                                           for k in range(12)]
    for seed in ("2", "3", "4"):
        assert _explanations(seed) == first
