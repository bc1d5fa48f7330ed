"""One folder is not one table: unrelated files dropped into one folder land in separate tables
(one per series of file names, dates and sequence numbers stripped), and a good file is never
quarantined because a neighbour gives a column of the same name another type."""

from __future__ import annotations

import csv
import gzip
import io

import pytest

from analytics_platform.defs.ingestion.datasets import dataset_name
from tests.reports.profile_datasets import PLOTLY_DATA


def plotly_rows(name: str) -> list[list[str]]:
    text = gzip.decompress((PLOTLY_DATA / f"{name}.csv.gz").read_bytes()).decode()
    return list(csv.reader(io.StringIO(text)))


def write(path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_text(buffer.getvalue())


@pytest.mark.parametrize(("relative", "table"), [
    ("tips/tips.csv", "tips"),
    ("mpl_stocks/Stocks.csv", "mpl_stocks"),
    ("weather/daily/2024-01-01.csv", "weather__daily"),
    ("shop/orders_2024-01-01.csv", "shop__orders"),
    ("shop/2024-01-02_orders.csv", "shop__orders"),
    ("shop/orders-0001.parquet", "shop__orders"),
    ("shop/weather.csv", "shop__weather"),
    ("weather/day1.csv", "weather__day"),
    ("weather/day12.csv", "weather__day"),
    ("web/events_v2.csv", "web__events_v2"),
    ("web/events_v2/events_2026-01-01.ndjson", "web__events_v2"),
    ("any/data.csv", "any"),
    ("sales_2024-01.csv", "sales"),
    ("x'; DROP TABLE t; --/y\".csv", "x_drop_table_t__y"),
])
def test_table_name_is_the_series_of_the_file(relative, table):
    assert dataset_name(relative) == table


def test_unrelated_files_in_one_folder_land_in_separate_tables(platform):
    folder = platform.landing / "plotly"
    folder.mkdir()
    tips, gapminder, wind = plotly_rows("tips"), plotly_rows("gapminder"), plotly_rows("wind")
    half = len(tips) // 2
    write(folder / "tips_2024-01-01.csv", tips[:half])  # one series in two daily files
    write(folder / "tips_2024-01-02.csv", [tips[0], *tips[half:]])
    write(folder / "gapminder.csv", gapminder)
    write(folder / "wind.csv", wind)
    # A neighbour whose `size` is text, where tips' `size` is a number: it must not matter to tips.
    write(folder / "zz_sizes.csv", [["size", "label"], ["small", "S"], ["large", "L"]])

    assert platform.ingest().success
    assert platform.query("SELECT count(*) FROM meta.quarantine") == [(0,)]
    tables = dict(platform.query(
        "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE schema_name = 'uncontracted' AND column_name NOT LIKE '\\_%' ESCAPE '\\' GROUP BY ALL"
    ))
    expected = {"plotly__tips": tips, "plotly__gapminder": gapminder, "plotly__wind": wind,
                "plotly__zz_sizes": [["size", "label"], [], []]}
    assert tables == {name: rows[0] for name, rows in expected.items()}
    for name, rows in expected.items():
        assert platform.query(f'SELECT count(*) FROM uncontracted."{name}"') == [(len(rows) - 1,)], name
    # Values are the file's: the total of tips' total_bill, summed independently from the CSV.
    (total,) = platform.query('SELECT sum(total_bill) FROM uncontracted."plotly__tips"')[0]
    assert total == pytest.approx(sum(float(r[0]) for r in tips[1:]))


def test_suggested_contract_of_a_series_leaves_the_folders_other_files_out():
    from analytics_platform.defs.ingestion.contracts import Contract
    from analytics_platform.defs.reports.profiles.contract_suggestion import file_pattern

    pattern, fmt = file_pattern(["plotly/tips_2024-01-01.csv", "plotly/tips_2024-01-02.csv"])
    assert (pattern, fmt) == ("plotly/tips*.csv", "csv")
    contract = Contract("plotly", "tips", "", pattern, fmt, (), ())
    assert contract.matches("plotly/tips_2024-01-03.csv") and not contract.matches("plotly/gapminder.csv")
