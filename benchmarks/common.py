"""Shared benchmark helpers: a throw-away database and latency statistics."""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from service.kit.db import temporary_database
from service.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
# The benchmark data is dated from 2027 on; the service works on this day, so it stays ahead (as in the tests).
TODAY = date(2026, 11, 21)
BASE_URL = os.environ.get("BAUSTELLEN_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/baustellen")


@contextmanager
def bench_database(tag: str) -> Iterator[Settings]:
    """A fresh database built by the migrations, dropped afterwards."""
    with temporary_database(BASE_URL, f"baustellen_bench_{tag}") as url:
        yield Settings(database_url=url, today=TODAY)


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples_s)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"n": len(ms), "p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2),
            "max_ms": round(ms[-1], 2)}


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path
