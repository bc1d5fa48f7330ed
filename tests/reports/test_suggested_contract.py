"""Suggested contracts: they describe the landed file, adopting one loads the same file without
quarantine, and the ones that cannot be adopted as they are say why."""

from __future__ import annotations

import fnmatch
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from analytics_platform.defs.ingestion.contracts import load_contracts, quote_ident
from analytics_platform.defs.ingestion.files import scan_landing
from analytics_platform.defs.ingestion.loader import ingest
from analytics_platform.resources import WarehouseResource
from tests.reports.profile_datasets import DATASETS


@pytest.mark.parametrize("dataset", DATASETS)
def test_suggested_contract_fits_the_data(profiled: dict[str, Any], dataset: str) -> None:
    text = (profiled["reports"] / f"{dataset}.contract.yaml").read_text()
    raw = yaml.safe_load(text)
    assert set(raw) >= {"source", "table", "description", "file_pattern", "format", "primary_key", "columns"}
    file = profiled["files"][dataset]
    relative = file.relative_to(profiled["landing"]).as_posix()
    assert fnmatch.fnmatchcase(relative, raw["file_pattern"])
    p = profiled["profiles"][dataset]
    # Names are identifiers; a header that is not one is kept as the column's `source`.
    header = {c["name"]: c.get("source") or c["name"] for c in raw["columns"]}
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name) for name in header)
    assert [header[k] for k in raw["primary_key"]] == p["primary_key"]
    if p["main_time"]:
        assert header[raw["incremental_key"]] == p["main_time"]
    # Every value of the file, read as text, casts to the declared type; required columns are never empty.
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{file}', all_varchar=true, sample_size=-1)")
    probes = ", ".join(
        f"count(*) FILTER (WHERE {quote_ident(header[c['name']])} IS NOT NULL AND TRY_CAST({quote_ident(header[c['name']])} AS {c['type']}) IS NULL), "
        f"count(*) FILTER (WHERE {quote_ident(header[c['name']])} IS NULL)"
        for c in raw["columns"]
    )
    counts = con.execute(f"SELECT {probes} FROM t").fetchone()
    for i, c in enumerate(raw["columns"]):
        assert counts[2 * i] == 0, f"{c['name']} does not cast to {c['type']}"
        if c.get("required"):
            assert counts[2 * i + 1] == 0, f"{c['name']} is required but has empty values"
    assert set(header.values()) == {c["name"] for c in p["columns"]}


# gapminder (lifeExp), mpl_stocks (^GSPC): adoptable through `source`, which maps the file's
# header to a clean name.
ADOPTABLE = ["planted__orders", "wind", "gapminder", "mpl_stocks"]


@pytest.mark.parametrize("dataset", ADOPTABLE)
def test_adopting_the_contract_loads_the_same_file(profiled: dict[str, Any], dataset: str, tmp_path: Path) -> None:
    """Copy the suggestion into a contracts folder and ingest the file again: no quarantine."""
    text = (profiled["reports"] / f"{dataset}.contract.yaml").read_text()
    assert "NOT adoptable" not in text
    raw = yaml.safe_load(text)
    contracts_dir = tmp_path / "contracts"
    contracts_dir.mkdir()
    (contracts_dir / f"{raw['source']}__{raw['table']}.yaml").write_text(text)
    contracts = load_contracts.__wrapped__(contracts_dir)
    landing = tmp_path / "landing"
    relative = profiled["files"][dataset].relative_to(profiled["landing"])
    (landing / relative).parent.mkdir(parents=True)
    shutil.copy(profiled["files"][dataset], landing / relative)
    warehouse = WarehouseResource(state_dir=str(tmp_path / "state"), landing_dir=str(landing))
    with warehouse.connect() as con:
        report = ingest(con, scan_landing(landing, 0), contracts, tmp_path / "quarantine", "test-run")
        contract = contracts[0]
        assert not report.quarantined, report.quarantined
        assert [f["rows"] for f in report.loaded[contract.name]] == [profiled["profiles"][dataset]["rows"]]
        key = ", ".join(quote_ident(k) for k in contract.primary_key)
        dupes = con.execute(f"SELECT count(*) FROM (SELECT {key} FROM {contract.qualified_table} GROUP BY ALL HAVING count(*) > 1)").fetchone()
        assert dupes == (0,)


def test_contracts_that_cannot_be_adopted_say_why(profiled: dict[str, Any]) -> None:
    # tips has a duplicate row, breast_cancer no unique column or pair: no key at all
    reasons = {"tips": "no column (or pair) is unique", "breast_cancer": "no column (or pair) is unique"}
    for dataset, reason in reasons.items():
        text = (profiled["reports"] / f"{dataset}.contract.yaml").read_text()
        assert "# NOT adoptable as-is" in text and reason in text
        assert profiled["materializations"][dataset]["reports.suggested_contract"]["adoptable"].value is False
