"""Four ingestion writers (one per source, each its own state and landing folder), a reader polling
the raw tables, and an analytics engineer's own `dbt build` (the project's profile, shared mode),
all at once on one shared DuckLake: no process fails, the reader never sees a count go down, and
afterwards every generated row is in its raw table once and the marts reconcile."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from analytics_platform import warehouse
from analytics_platform.defs.ingestion import ledger
from analytics_platform.defs.ingestion.contracts import load_contracts
from analytics_platform.sample_data import generate, write_landing
from analytics_platform.sample_data.schema import SPECS
from analytics_platform.settings import DBT_PROJECT_DIR, PROJECT_ROOT, load_settings

SOURCES = ("shop", "web", "marketing", "experiments")

WRITER = """
import sys
import dagster as dg
from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.resources import WarehouseResource
state, landing = sys.argv[1], sys.argv[2]
for _ in range(2):  # the second pass finds everything loaded: nothing doubled
    result = dg.materialize([raw_tables], resources={"warehouse": WarehouseResource(state_dir=state, landing_dir=landing)},
                            run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0}}}})
    assert result.success
"""

READER = """
import json, sys, time
from analytics_platform import warehouse
tables, stop = json.loads(sys.argv[1]), sys.argv[2]
import pathlib
seen = []
while not pathlib.Path(stop).exists():
    with warehouse.session(read_only=True) as con:
        seen.append([con.execute(f"SELECT count(*) FROM raw.{warehouse.quote_ident(t)}").fetchone()[0] for t in tables])
    time.sleep(0.2)
print(json.dumps(seen))
"""


def test_four_writers_a_reader_and_a_dbt_build_at_once(servers, shared_env, tmp_path):
    data = generate(seed=3, scale=0.02, days=4)
    write_landing(data, tmp_path / "producer")
    tables = sorted(f"{s.source}__{s.table}" for s in SPECS.values())
    with warehouse.session(load_settings()) as con:
        ledger.ensure_schema(con, load_contracts())  # the warehouse exists (raw tables empty): dbt's sources resolve
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    writers = []
    for source in SOURCES:
        landing = tmp_path / source / "landing"
        shutil.copytree(tmp_path / "producer" / source, landing / source)
        writers.append(subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / source / "state"), str(landing)], env=env,
                                        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, json.dumps(tables), str(stop)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dbt = [str(Path(sys.executable).parent / "dbt"), "build", "--target-path", str(tmp_path / "dbt_target"),
           "--log-path", str(tmp_path / "dbt_logs")]
    engineer_env = {**env, "ANALYTICS_STATE_DIR": str(tmp_path / "engineer")}
    build = subprocess.Popen(dbt, cwd=DBT_PROJECT_DIR, env=engineer_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    outcomes = [w.communicate(timeout=600) + (w.returncode,) for w in writers]
    build_output = build.communicate(timeout=600)[0]
    stop.touch()
    seen = json.loads(reader.communicate(timeout=120)[0] or "[]")
    assert [code for *_, code in outcomes] == [0] * len(SOURCES), [err[-2000:] for _, err, _ in outcomes]
    assert build.returncode == 0, build_output[-3000:]
    assert reader.returncode == 0 and len(seen) > 3
    assert all(a <= b for before, after in zip(seen, seen[1:], strict=False) for a, b in zip(before, after, strict=True))

    rebuild = subprocess.run(dbt, cwd=DBT_PROJECT_DIR, env=engineer_env, capture_output=True, text=True, timeout=600)
    assert rebuild.returncode == 0, rebuild.stdout[-3000:]
    with warehouse.session(load_settings(), read_only=True) as con:
        for key, frame in data.tables.items():
            spec = SPECS[key]
            assert con.execute(f"SELECT count(*) FROM raw.{warehouse.quote_ident(f'{spec.source}__{spec.table}')}").fetchone()[0] == frame.height
        files = sum(1 for p in (tmp_path / "producer").rglob("*.*") if not p.name.startswith("_"))
        assert con.execute("SELECT count(*), count(DISTINCT file_hash) FROM meta.ingest_ledger").fetchone() == (files, files)
        orders = con.execute("SELECT count(DISTINCT order_id) FROM raw.shop__orders").fetchone()[0]
        assert con.execute("SELECT count(*) FROM marts.fct_orders").fetchone()[0] == orders > 0
