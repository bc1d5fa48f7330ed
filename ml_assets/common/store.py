"""Writing the ML layer's results into the lake's ``ml`` schema."""

from __future__ import annotations

import duckdb
import polars as pl

from analytics_platform.warehouse import transaction

SCHEMA = "ml"


def table_name(name: str) -> str:
    return f"lake.{SCHEMA}.{name}"


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame,
                  comments: dict[str, str] | None = None) -> str:
    """Replace ``lake.ml.<name>`` by ``frame`` in one transaction; returns the qualified name."""
    qualified = table_name(name)
    con.register("_ml_frame", frame)

    def body(c: duckdb.DuckDBPyConnection) -> None:
        c.execute(f"CREATE SCHEMA IF NOT EXISTS lake.{SCHEMA}")
        c.execute(f"CREATE OR REPLACE TABLE {qualified} AS SELECT * FROM _ml_frame")

    try:
        transaction(con, body)
    finally:
        con.unregister("_ml_frame")
    if comments:
        _comment(con, qualified, comments)
    return qualified


def append_rows(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> str:
    """Append ``frame`` to ``lake.ml.<name>``, creating it from the frame's schema if missing."""
    qualified = table_name(name)
    con.register("_ml_frame", frame)

    def body(c: duckdb.DuckDBPyConnection) -> None:
        c.execute(f"CREATE SCHEMA IF NOT EXISTS lake.{SCHEMA}")
        c.execute(f"CREATE TABLE IF NOT EXISTS {qualified} AS SELECT * FROM _ml_frame LIMIT 0")
        c.execute(f"INSERT INTO {qualified} BY NAME SELECT * FROM _ml_frame")

    try:
        transaction(con, body)
    finally:
        con.unregister("_ml_frame")
    return qualified


def _comment(con: duckdb.DuckDBPyConnection, qualified: str, comments: dict[str, str]) -> None:
    """Column comments, so the documentation travels with the table (best effort on DuckLake)."""
    for column, text in comments.items():
        try:
            con.execute(f"COMMENT ON COLUMN {qualified}.{column} IS '{text.replace(chr(39), chr(39) * 2)}'")
        except duckdb.Error:
            return


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_catalog = 'lake' "
        "and table_schema = ? and table_name = ?", [schema, name]).fetchone()[0])
