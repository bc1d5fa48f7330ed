"""Every landing file conforms to its YAML source contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from analytics_platform.sample_data.schema import SPECS

from .conftest import DAYS

TS_RE = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
DEC_RE = r"^-?\d+\.\d{2}$"
EXT = {"csv": "csv", "parquet": "parquet", "ndjson": "ndjson"}


def test_generator_schema_matches_yaml(contracts: dict[str, dict]) -> None:
    assert set(contracts) == set(SPECS)
    for key, c in contracts.items():
        spec = SPECS[key]
        assert spec.fmt == c["format"]
        expected = [(col["name"], col["type"], bool(col.get("required", False))) for col in c["columns"]]
        assert list(spec.columns) == expected, key


def _relation(c: dict, landing: Path) -> str:
    """DuckDB scan of all files of a table; text formats read as VARCHAR."""
    glob = str(landing / c["source"] / c["table"] / f"*.{c['format']}")
    if c["format"] == "csv":
        return f"read_csv('{glob}', all_varchar=true, header=true)"
    if c["format"] == "ndjson":
        cols = ", ".join(f"'{col['name']}': 'VARCHAR'" for col in c["columns"])
        return f"read_json('{glob}', format='newline_delimited', columns={{{cols}}})"
    return f"read_parquet('{glob}')"


def _header(path: Path, fmt: str) -> list[str]:
    if fmt == "csv":
        return path.open().readline().rstrip("\n").split(",")
    if fmt == "ndjson":
        return list(json.loads(path.open().readline()))
    return pq.read_schema(path).names


@pytest.mark.parametrize("key", sorted(SPECS))
def test_files_conform(key: str, contracts: dict[str, dict], landing: Path) -> None:
    c = contracts[key]
    fmt = c["format"]
    folder = landing / c["source"] / c["table"]
    files = sorted(folder.iterdir())
    assert files, f"no files for {key}"
    names = [col["name"] for col in c["columns"]]
    for f in files:
        assert f.match(c["file_pattern"].split("/")[-1]) and f.suffix == "." + EXT[fmt]
        assert re.fullmatch(rf"{c['table']}_\d{{4}}-\d{{2}}-\d{{2}}\.{fmt}", f.name), f.name
        assert _header(f, fmt) == names, f
    if key == "shop.products":
        assert len(files) == 2  # full catalogue + one correction
    elif not key.startswith("experiments."):
        assert len(files) == DAYS

    rel = _relation(c, landing)
    con = duckdb.connect()
    checks = []
    for col in c["columns"]:
        n, typ = f'"{col["name"]}"', col["type"]
        checks.append(f"count(*) FILTER (WHERE {n} IS NOT NULL AND TRY_CAST({n} AS {typ}) IS NULL)")
        checks.append(f"count(*) FILTER (WHERE {n} IS NULL)" if col.get("required") else "0")
        if fmt != "parquet" and typ == "TIMESTAMP":
            checks.append(f"count(*) FILTER (WHERE NOT regexp_full_match({n}, '{TS_RE}'))")
        elif fmt != "parquet" and typ.startswith("DECIMAL"):
            checks.append(f"count(*) FILTER (WHERE NOT regexp_full_match({n}, '{DEC_RE}'))")
        else:
            checks.append("0")
    row = con.sql(f"SELECT count(*), {', '.join(checks)} FROM {rel}").fetchone()
    assert row[0] > 0
    bad = {c["columns"][i // 3]["name"] + ("/cast", "/null", "/format")[i % 3]: v
           for i, v in enumerate(row[1:]) if v}
    assert not bad, f"{key}: {bad}"

    if fmt == "parquet":  # real types, not strings
        types = {r[0]: r[1] for r in con.sql(f"DESCRIBE SELECT * FROM {rel}").fetchall()}
        assert types == {col["name"]: col["type"] for col in c["columns"]}, key


def test_row_counts_in_truth_match_files(shop, landing: Path, contracts: dict[str, dict]) -> None:
    con = duckdb.connect()
    for key, spec in SPECS.items():
        n = con.sql(f"SELECT count(*) FROM {_relation(contracts[key], landing)}").fetchone()[0]
        assert n == shop.ground_truth["row_counts"][key] == shop.tables[key].height, key
        files = len(list((landing / spec.source / spec.table).glob(f"*.{spec.fmt}")))
        assert files == shop.ground_truth["file_counts"][key], key


def test_files_are_named_after_their_day(landing: Path) -> None:
    con = duckdb.connect()
    # sessions and events are filed on the day they happened
    for table, ts in (("sessions", "started_at"), ("events", "occurred_at")):
        fmt = "ndjson" if table == "sessions" else "csv"
        bad = con.sql(f"""
            SELECT count(*) FROM read_{'json' if fmt == 'ndjson' else 'csv'}(
                '{landing}/web/{table}/*.{fmt}', filename=true)
            WHERE strftime(CAST({ts} AS TIMESTAMP), '%Y-%m-%d') <> regexp_extract(filename, '(\\d{{4}}-\\d{{2}}-\\d{{2}})', 1)
        """).fetchone()[0]
        assert bad == 0, table
