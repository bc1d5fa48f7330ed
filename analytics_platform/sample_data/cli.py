"""Command line: ``python -m analytics_platform.sample_data [options]``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from .generate import generate
from .writer import write_landing


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m analytics_platform.sample_data",
                                description="Generate deterministic online-shop landing files.")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--scale", type=float, default=1.0, help="1 ~ 1M web events over 120 days")
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--start-date", type=dt.date.fromisoformat, default=dt.date(2026, 1, 1))
    p.add_argument("--out", default="landing", help="landing folder (created if missing)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    t0 = time.perf_counter()
    data = generate(seed=a.seed, scale=a.scale, days=a.days, start_date=a.start_date)
    t1 = time.perf_counter()
    paths = write_landing(data, a.out)
    t2 = time.perf_counter()
    for key, n in data.ground_truth["row_counts"].items():
        print(f"{key:<24} {data.ground_truth['file_counts'][key]:>4} files {n:>11,} rows")
    print(f"wrote {len(paths)} files to {a.out} "
          f"(generate {t1 - t0:.1f}s, write {t2 - t1:.1f}s, total {t2 - t0:.1f}s)", file=sys.stderr)
    return 0
