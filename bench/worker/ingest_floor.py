"""The ingestion floor: DuckDB reading the same files straight into a native table, one
``CREATE TABLE AS`` per table; *tuned*, with the dialect and the contract's types given."""

from __future__ import annotations

import fnmatch
import time
from pathlib import Path

FORMATS = {"csv": "read_csv({files})", "parquet": "read_parquet({files})", "ndjson": "read_json({files}, format='newline_delimited')"}


def measure(args: dict) -> dict:
    import duckdb

    from analytics_platform.defs.ingestion.contracts import load_contracts

    landing, db = Path(args["landing"]), Path(args["db"])
    tuned = bool(args.get("tuned"))
    db.unlink(missing_ok=True)
    files = sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file() and not p.name.startswith(("_", ".")))
    con = duckdb.connect(str(db))
    per_table, rows = {}, 0
    started = time.perf_counter()
    for c in load_contracts():
        mine = [landing / f for f in files if fnmatch.fnmatchcase(f, c.file_pattern)]
        if not mine:
            continue
        listing = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in mine) + "]"
        source = (tuned_source(c, mine, listing) if tuned else None) or FORMATS[c.format].format(files=listing)
        t = time.perf_counter()
        con.execute(f"CREATE TABLE {c.name} AS SELECT * FROM {source}")
        per_table[c.name] = round(time.perf_counter() - t, 3)
        rows += con.execute(f"SELECT count(*) FROM {c.name}").fetchone()[0]
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    con.close()
    return {"ok": True, "seconds": seconds, "rows": rows, "per_table": per_table, "db_bytes": db.stat().st_size, "tuned": tuned}


def tuned_source(contract, files: list[Path], listing: str) -> str | None:
    """What a hand-tuned DuckDB load would do: no per-file sniffing, the contract's types given."""
    types = {col.name: col.type for col in contract.columns}
    if contract.format == "csv":
        with files[0].open(encoding="utf-8", errors="replace") as handle:
            header = handle.readline().lstrip("\ufeff").rstrip("\r\n").split(",")
        columns = "{" + ", ".join(f"'{h}': '{types.get(h, 'VARCHAR')}'" for h in header) + "}"
        return f"read_csv({listing}, auto_detect=false, header=true, delim=',', quote='\"', escape='\"', columns={columns})"
    if contract.format == "ndjson":
        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in types.items()) + "}"
        return f"read_json({listing}, format='newline_delimited', columns={columns})"
    return None  # Parquet: read_parquet is already the direct path
