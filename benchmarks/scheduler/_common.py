"""Shared helpers for the scheduler benchmarks: paths, progress counter, JSON output."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class Counter:
    """A minimal progress counter on stderr (keeps stdout for the result table)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.t0 = label, total, 0, time.perf_counter()

    def step(self, note: str = "") -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.t0
        print(
            f"\r[{self.label}] {self.done}/{self.total} {elapsed:7.1f}s {note:<40}", end="", file=sys.stderr
        )
        if self.done == self.total:
            print(file=sys.stderr)


def write_json(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(q / 100 * (len(v) - 1)))))
    return v[k]
