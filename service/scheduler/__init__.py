"""Pure scheduling core: assigns non-conflicting start days to construction requests.

See ``service/scheduler/README.md``. Time is integer days; no I/O, no database, no web framework.
"""

from .checker import Violation, check_plan
from .greedy import fcfs
from .model import (
    Bundle,
    ComponentStats,
    Conflict,
    FcfsSummary,
    Forbidden,
    ObjectiveParts,
    Options,
    Plan,
    Precedence,
    Problem,
    Stopped,
    Task,
    Unplaced,
    Zone,
    evaluate,
)
from .solve import resolve, solve

__all__ = [
    "Bundle",
    "ComponentStats",
    "Conflict",
    "FcfsSummary",
    "Forbidden",
    "ObjectiveParts",
    "Options",
    "Plan",
    "Precedence",
    "Problem",
    "Stopped",
    "Task",
    "Unplaced",
    "Violation",
    "Zone",
    "check_plan",
    "evaluate",
    "fcfs",
    "resolve",
    "solve",
]
