"""Write a ``ShopData`` to a landing folder, one file per table per day.

Layout: ``<out>/<source>/<table>/<table>_<YYYY-MM-DD>.<csv|parquet|ndjson>``.
Each file is written to ``<name>.tmp`` and atomically renamed, because a
sensor watches the folder and must never pick up a half-written file (it
ignores ``*.tmp``). Days without rows get no file. Ground truth goes to
``_ground_truth.json`` and the per-customer truth to
``_customer_truth.parquet``; the leading underscore keeps ingestion away.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from analytics_platform.files import replaced_atomically

from .schema import SPECS, TableSpec

if TYPE_CHECKING:
    from .generate import ShopData

TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def _atomic(path: Path, write) -> Path:
    # the temporary name (dot first, .tmp last) is one the landing sensor never picks up
    with replaced_atomically(path) as partial:
        write(partial)
    return path


def _write_one(job: tuple[Path, pl.DataFrame, TableSpec]) -> Path:
    path, df, spec = job
    if spec.fmt == "csv":
        return _atomic(path, lambda p: df.write_csv(p, datetime_format=TS_FORMAT, date_format="%Y-%m-%d"))
    if spec.fmt == "parquet":
        return _atomic(path, lambda p: df.write_parquet(p, compression="zstd", statistics=True))
    if spec.fmt == "ndjson":
        out = df.with_columns(pl.col(pl.Datetime).dt.strftime(TS_FORMAT), pl.col(pl.Date).cast(pl.Utf8))
        return _atomic(path, lambda p: out.write_ndjson(p))
    raise ValueError(f"unknown format {spec.fmt}")


def write_landing(data: ShopData, out_dir: str | os.PathLike) -> list[Path]:
    """Write all tables plus truth files; returns the written paths (sorted)."""
    out = Path(out_dir)
    jobs: list[tuple[Path, pl.DataFrame, TableSpec]] = []
    for key, df in data.tables.items():
        spec = SPECS[key]
        folder = out / spec.source / spec.table
        folder.mkdir(parents=True, exist_ok=True)
        for (day,), part in sorted(df.partition_by("_file_date", maintain_order=True, as_dict=True).items()):
            path = folder / f"{spec.table}_{day.isoformat()}.{spec.fmt}"
            jobs.append((path, part.drop("_file_date"), spec))
    # biggest files first so the pool stays busy; polars releases the GIL while writing
    jobs.sort(key=lambda j: -j[1].height)
    with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
        paths = list(pool.map(_write_one, jobs))
    text = json.dumps(data.ground_truth, indent=2)
    paths.append(_atomic(out / "_ground_truth.json", lambda p: p.write_text(text + "\n")))
    paths.append(_atomic(out / "_customer_truth.parquet",
                         lambda p: data.customer_truth.write_parquet(p, compression="zstd")))
    return sorted(paths)
