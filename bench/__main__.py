"""Run every benchmark module under bench/, print one table, write bench/results/<time>.json.

Benchmarks measure speed; tests assert correctness. A benchmark module defines
``NAME`` and ``run() -> list[dict]`` where each dict has at least ``metric``, ``value``,
``unit`` and ``target`` (or None).
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "database": os.environ.get("EHUB_BENCH_DATABASE_URL", "sqlite (temporary file)"),
    }


def main(argv: list[str]) -> int:
    only = set(argv)
    rows: list[dict] = []
    for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if info.name.startswith("_") or (only and info.name not in only):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        for row in module.run():
            rows.append({"benchmark": getattr(module, "NAME", info.name), **row})

    header = ("benchmark", "metric", "value", "unit", "target")
    print(" | ".join(h.ljust(18) for h in header))
    print("-+-".join("-" * 18 for _ in header))
    if not rows:
        print("(no benchmarks yet: the issues that name speed targets add them here)")
    for row in rows:
        print(" | ".join(str(row.get(h, "")).ljust(18) for h in header))

    out = HERE / "results"
    out.mkdir(exist_ok=True)
    path = out / time.strftime("%Y%m%dT%H%M%S.json")
    path.write_text(json.dumps({"machine": machine(), "results": rows}, indent=2))
    print(f"\nwritten {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
