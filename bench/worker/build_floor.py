"""The dbt project's compiled SQL, straight through one DuckDB connection, in dbt's order.

Raw tables are first copied from the DuckLake into a native DuckDB file attached as ``lake`` (so
the compiled names ``"lake"."raw"...`` resolve; not timed). Then every node of the dbt run is
executed in run order: seeds are read from their CSV, models/snapshots become
``CREATE OR REPLACE TABLE|VIEW <relation> AS <compiled select>``, tests are run as queries.
"""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path


def measure(args: dict) -> dict:
    import duckdb

    from analytics_platform import warehouse
    from analytics_platform.resources import WarehouseResource

    run_dir = Path(args["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    results = json.loads((run_dir / "run_results.json").read_text())["results"]
    nodes = manifest["nodes"]
    db = Path(args["db"])
    db.unlink(missing_ok=True)
    settings = WarehouseResource(state_dir=args["state"]).settings
    con = duckdb.connect(config={"extension_directory": warehouse.extension_directory()})
    warehouse.prepare(con, settings)
    warehouse.attach(con, settings, read_only=True, alias="src")
    con.execute(f"ATTACH '{db}' AS lake")
    t = time.perf_counter()
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' AND schema_name = 'raw'").fetchall():
        con.execute("CREATE SCHEMA IF NOT EXISTS lake.raw")
        con.execute(f'CREATE TABLE lake.raw."{table}" AS FROM src.raw."{table}"')
    copy_seconds = time.perf_counter() - t
    con.execute("DETACH src")
    con.execute("USE lake")
    per_node: dict[str, float] = {}
    kinds: dict[str, float] = collections.defaultdict(float)
    skipped: list[str] = []
    started = time.perf_counter()
    for r in results:
        node = nodes.get(r["unique_id"])
        if node is None:
            skipped.append(r["unique_id"])
            continue
        kind = node["resource_type"]
        relation = f'"{node["database"]}"."{node["schema"]}"."{node.get("alias") or node["name"]}"'
        t = time.perf_counter()
        try:
            if kind != "test":
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{node["database"]}"."{node["schema"]}"')
            if kind == "seed":
                path = Path(args["project_dir"]) / node["original_file_path"]
                con.execute(f"CREATE OR REPLACE TABLE {relation} AS FROM read_csv('{path}')")
            else:
                sql = compiled_sql(run_dir, node)
                if sql is None:
                    skipped.append(r["unique_id"])
                    continue
                if kind == "test":
                    con.execute(f"SELECT count(*) FROM ({sql}) t").fetchone()
                else:
                    materialized = node["config"].get("materialized", "view")
                    what = "VIEW" if materialized in ("view", "ephemeral") else "TABLE"
                    con.execute(f"CREATE OR REPLACE {what} {relation} AS {sql}")
        except duckdb.Error as error:
            skipped.append(f"{r['unique_id']}: {str(error).splitlines()[0][:200]}")
            continue
        per_node[r["unique_id"]] = round(time.perf_counter() - t, 4)
        kinds[kind] += time.perf_counter() - t
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    con.close()
    return {"ok": True, "seconds": seconds, "copy_raw_seconds": copy_seconds, "per_kind": {k: round(v, 3) for k, v in kinds.items()},
            "per_node": per_node, "skipped": skipped, "db_bytes": db.stat().st_size}


def compiled_sql(run_dir: Path, node: dict) -> str | None:
    """A node's compiled SQL: from the manifest, else from dbt's compiled/ folder (tests may sit
    in a subfolder named after their model), without the trailing semicolon."""
    if node.get("compiled_code"):
        return node["compiled_code"].rstrip().rstrip(";")
    path = run_dir / "compiled" / node["package_name"] / node["original_file_path"]
    if node["resource_type"] == "test" and not path.exists():
        candidates = list((run_dir / "compiled" / node["package_name"]).rglob(f"{node['name']}.sql"))
        path = candidates[0] if candidates else path
    return path.read_text().rstrip().rstrip(";") if path.exists() else None
