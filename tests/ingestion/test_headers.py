"""Real-world headers load: names that differ only in case (`A` beside `a`, `City` in one file and
`city` in the next), spaces and non-breaking spaces; and the contract suggested for them can be
adopted, mapping each file header to a clean column name with `source`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from analytics_platform.defs.ingestion.contracts import ContractError, load_contracts
from analytics_platform.defs.ingestion.files import scan_landing
from analytics_platform.defs.ingestion.loader import ingest
from analytics_platform.defs.ingestion.readers import clean_names
from analytics_platform.defs.reports.profiles.contract_suggestion import suggest
from analytics_platform.defs.reports.profiles.datasets import dataset_state
from analytics_platform.defs.reports.profiles.profile import compute_profile
from analytics_platform.resources import WarehouseResource
from analytics_platform.warehouse import quote_ident

NBSP = "\u00a0"
HEADER = ["Id", "A", "a", "City", "city", f"First{NBSP}Name", " Total Sales ", "lifeExp"]
DAY1 = [[1, 10, 11, "Berlin", "berlin", "Ann", 1.5, 80.1], [2, 20, 21, "Paris", "paris", "Bo", 2.5, 81.2]]
# The next day's file names its columns in other cases (`CITY`, `ID`): the same columns.
HEADER2 = ["ID", "A", "a", "CITY", "city", f"First{NBSP}Name", "Total Sales", "lifeExp"]
DAY2 = [[3, 30, 31, "Rome", "rome", "Cy", 3.5, 82.3]]


def write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    path.write_text(buffer.getvalue())


def test_clean_names_are_deterministic_and_distinct_up_to_case():
    assert clean_names(["A", "a", "City", "city", f"x{NBSP} y ", "", "a"]) == ["A", "a_1", "City", "city_1", "x y", "column5", "a_2"]


def test_headers_differing_in_case_or_spacing_load_and_adopt(platform, tmp_path):
    write(platform.landing / "cities" / "cities_2024-01-01.csv", HEADER, DAY1)
    write(platform.landing / "cities" / "cities_2024-01-02.csv", HEADER2, DAY2)
    with platform.warehouse.connect() as con:
        report = ingest(con, scan_landing(platform.landing, 0), load_contracts(), platform.settings.quarantine_dir, "r1")
        assert not report.quarantined, report.quarantined
        assert sum(f["rows"] for f in report.loaded["uncontracted"]) == 3
        described = [r[0] for r in con.execute('DESCRIBE uncontracted."cities"').fetchall()]
        assert described[:8] == ["Id", "A", "a_1", "City", "city_1", "First Name", "Total Sales", "lifeExp"]
        table = con.execute('SELECT "Id", "A", "a_1", "City", "city_1", "First Name", "Total Sales" FROM uncontracted."cities" ORDER BY 1').fetchall()
        assert table == [tuple(r[:7]) for r in DAY1 + DAY2]

        suggestion = suggest(compute_profile(con, "cities", dataset_state(con, "cities")), con, platform.landing, existing=())
    assert suggestion.adoptable, suggestion.problems
    assert suggestion.contract.file_pattern == "cities/cities*.csv"
    headers = {c.name: c.source for c in suggestion.contract.columns}
    assert headers == {"id": "Id", "a": "A", "a_1": "", "city": "City", "city_1": "", "first_name": "First Name",
                       "total_sales": "Total Sales", "life_exp": "lifeExp"}

    # Adopt it: the same files, landed again, load into the contract's table with clean names.
    contracts_dir = tmp_path / "contracts"
    contracts_dir.mkdir()
    (contracts_dir / suggestion.file_name).write_text(suggestion.yaml_text)
    contracts = load_contracts.__wrapped__(contracts_dir)
    landing = tmp_path / "landing2"
    write(landing / "cities" / "cities_2024-01-01.csv", HEADER, DAY1)
    write(landing / "cities" / "cities_2024-01-02.csv", HEADER2, DAY2)
    fresh = WarehouseResource(state_dir=str(tmp_path / "state2"), landing_dir=str(landing))  # a warehouse that has not seen them
    with fresh.connect() as con:
        report = ingest(con, scan_landing(landing, 0), contracts, tmp_path / "quarantine", "r2")
        assert not report.quarantined, report.quarantined
        (contract,) = contracts
        names = ", ".join(quote_ident(n) for n in ("id", "a", "a_1", "city", "city_1", "first_name", "total_sales", "life_exp"))
        rows = con.execute(f"SELECT {names} FROM {contract.qualified_table} ORDER BY 1").fetchall()
    assert rows == [tuple(r) for r in DAY1 + DAY2]


def test_a_contract_source_must_not_repeat_a_header(tmp_path):
    (tmp_path / "s__t.yaml").write_text(
        "source: s\ntable: t\nfile_pattern: s/*.csv\nformat: csv\nprimary_key: [a]\ncolumns:\n"
        "  - {name: a, type: BIGINT}\n  - {name: b, source: a, type: BIGINT}\n"
    )
    with pytest.raises(ContractError, match="unique"):
        load_contracts.__wrapped__(tmp_path)
    assert all(c.renames == {} for c in load_contracts())  # the shipped contracts need no mapping
