"""Run every benchmark script ``benchmarks/<area>/*_bench.py`` in turn.

Each script is a module with ``main(argv)`` that prints its table and writes
``benchmarks/results/<name>.json``. ``--full`` is passed through (whole benchmark sets);
``--only NAME`` runs the scripts whose name contains NAME.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def scripts() -> list[str]:
    return sorted(
        f"benchmarks.{p.parent.name}.{p.stem}" for p in ROOT.glob("*/*_bench.py") if p.parent.name != "results"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    failed = []
    for name in scripts():
        if args.only and args.only not in name:
            continue
        print(f"\n=== {name}", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(name)
        code = module.main(["--full"] if args.full else [])
        print(f"=== {name}: {'ok' if not code else 'FAILED'} in {time.perf_counter() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print("goals missed:", ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
