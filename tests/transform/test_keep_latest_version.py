"""`keep_latest_version` (dbt_project/macros/staging.sql) returns exactly the rows of the plain
window it replaces, `qualify row_number() over (partition by <key> order by <incremental key>
desc, _loaded_at desc, _source_file desc) = 1`: on planted duplicates and ties in DuckDB, and on
every staging model of the built warehouse against its raw table."""

from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta

import duckdb
import jinja2
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics_platform.settings import DBT_PROJECT_DIR

from .support import query

MACROS = (DBT_PROJECT_DIR / "macros" / "staging.sql").read_text()
# a call may span lines (dbt_project/.sqlfluff limits them to 100 characters)
MACRO_CALL = re.compile(r"keep_latest_version\(\s*(.+?),\s*source\('(\w+)', '(\w+)'\)", re.DOTALL)


def keep_latest_version(primary_key: str | list[str], incremental_key: str, relation: str, where: str | None = None) -> str:
    """The macro's SQL, rendered by plain Jinja (it uses nothing dbt-specific)."""
    template = jinja2.Environment().from_string(MACROS + "{{ keep_latest_version(primary_key, incremental_key, relation, where) }}")
    return template.render(primary_key=primary_key, incremental_key=incremental_key, relation=relation, where=where)


def window(primary_key: str | list[str], incremental_key: str, relation: str) -> str:
    keys = primary_key if isinstance(primary_key, str) else ", ".join(primary_key)
    return f"""
        select * from {relation}
        qualify row_number() over (
            partition by {keys} order by {incremental_key} desc, _loaded_at desc, _source_file desc
        ) = 1
    """


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    return con.sql(f"select * from ({sql}) order by all").pl()


T0 = datetime(2026, 1, 1)


def _version(key, updated_hour, loaded_minute, file):
    """One raw row. Rows tied on all the ordering columns must be identical (re-deliveries):
    between them the window's pick is arbitrary, so planted ties differ nowhere else."""
    updated_at = None if updated_hour is None else T0 + timedelta(hours=updated_hour)
    return (*key, updated_at, f"payload {key} {updated_hour} {loaded_minute} {file}", T0 + timedelta(minutes=loaded_minute), file)


PLANTED = [
    # seen once
    ((1, "a"), 1, 0, "f1"), ((2, "a"), None, 0, "f1"),
    # corrections: the newest incremental key wins, whatever was loaded or named later
    ((3, "a"), 1, 9, "f9"), ((3, "a"), 5, 0, "f0"), ((3, "a"), 2, 5, "f5"),
    # tie on the incremental key: the later load wins, then the later file name
    ((4, "a"), 3, 1, "f9"), ((4, "a"), 3, 2, "f0"),
    ((5, "a"), 3, 2, "f1"), ((5, "a"), 3, 2, "f2"), ((5, "a"), 3, 1, "f3"),
    # null incremental keys sort last
    ((6, "a"), None, 9, "f9"), ((6, "a"), 1, 0, "f0"),
    ((7, "a"), None, 1, "f1"), ((7, "a"), None, 2, "f0"),
    # identical re-deliveries (a tracker sending an event twice in one file)
    ((8, "a"), 4, 3, "f3"), ((8, "a"), 4, 3, "f3"), ((8, "a"), 4, 3, "f3"),
    # the same first key column with other second columns: distinct composite keys
    ((9, "a"), 1, 0, "f1"), ((9, "b"), 2, 0, "f1"), ((9, "b"), 1, 1, "f2"),
    # null keys form one partition, as in `partition by`
    ((None, "a"), 1, 0, "f1"), ((None, "a"), 2, 0, "f0"), ((None, None), 1, 0, "f2"),
    ((10, None), 1, 3, "f1"), ((10, None), 1, 4, "f1"), ((None, None), 1, 1, "f0"),
]


@pytest.fixture(scope="module")
def raw() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("""
        create table versions (
            id integer, part varchar, updated_at timestamp, payload varchar,
            _loaded_at timestamp, _source_file varchar
        )
    """)
    planted = [_version(*v) for v in PLANTED]
    # plus many keys, a third of them seen twice, with colliding ordering columns
    generated = []
    for k in range(4000):
        updated, loaded, file = (k * 7) % 5 if k % 11 else None, (k * 13) % 4, f"f{(k * 17) % 3}"
        part = None if (loaded, file) == (0, "f0") else "ab"[loaded % 2]  # ties stay identical rows
        generated.append(_version((k % 3000, part), updated, loaded, file))
    con.executemany("insert into versions values (?, ?, ?, ?, ?, ?)", planted + generated)
    return con


@pytest.mark.parametrize("primary_key", ["id", ["id", "part"]], ids=["one column", "two columns"])
def test_macro_returns_the_rows_of_the_whole_table_window(raw, primary_key):
    expected = rows(raw, window(primary_key, "updated_at", "versions"))
    actual = rows(raw, keep_latest_version(primary_key, "updated_at", "versions"))
    assert raw.sql("select count(*) from versions").fetchone()[0] > expected.height > 1000
    assert_frame_equal(actual, expected)


def test_macro_with_a_key_filter_equals_the_window_over_the_filtered_rows(raw):
    """The incremental models' filter: all versions of the keys that have a recent version."""
    recent = f"id in (select id from versions where _loaded_at > '{T0 + timedelta(minutes=2)}')"
    expected = rows(raw, window("id", "updated_at", f"(select * from versions where {recent})"))
    actual = rows(raw, keep_latest_version("id", "updated_at", "versions", where=recent))
    assert 0 < expected.height < rows(raw, window("id", "updated_at", "versions")).height
    assert_frame_equal(actual, expected)


def _staging_calls() -> list[tuple[str, list[str], str, str]]:
    calls = []
    for path in sorted((DBT_PROJECT_DIR / "models" / "staging").glob("*/stg_*.sql")):
        match = MACRO_CALL.search(path.read_text())
        assert match, f"{path.name} does not deduplicate with keep_latest_version"
        key, incremental_key = ast.literal_eval(f"({match.group(1)})")
        calls.append((path.stem, [key] if isinstance(key, str) else key, incremental_key, f"{match.group(2)}__{match.group(3)}"))
    return calls


def test_every_staging_model_holds_the_whole_table_window_rows(built):
    """The dbt-built models (full builds, and for the click-stream an incremental build first,
    equal to a full refresh by test_incremental) keep the versions the window keeps. Compared on
    the columns staging passes through, key columns case-folded (staging lower/upper-cases some)."""
    calls = _staging_calls()
    assert len(calls) == 10
    duplicated = 0
    for model, keys, incremental_key, table in calls:
        folded = ", ".join(f"lower(cast({k} as varchar)) as {k}" for k in keys)
        columns = f"{folded}, {incremental_key} as version_key, _loaded_at, _source_file"
        expected = query(built.state, f"select {columns} from ({window(keys, incremental_key, f'raw.{table}')}) order by all")
        actual = query(built.state, f"select {columns} from staging.{model} order by all")
        try:
            assert_frame_equal(actual, expected, check_exact=True)
        except AssertionError as error:
            raise AssertionError(f"{model}: {error}") from None
        duplicated += query(built.state, f"select count(*) - {expected.height} as n from raw.{table}")["n"][0]
    assert duplicated > 0  # the generated raw tables do hold several versions of some keys
