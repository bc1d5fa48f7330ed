"""dbt sources come from the ingestion contracts: the committed files are exactly what the
contracts give, dbt's manifest has one source table per contract, and a new contract alone
gives a new source."""

from __future__ import annotations

import json
import shutil

import yaml

from analytics_platform.defs.ingestion.contracts import CONTRACTS_DIR, load_contracts
from analytics_platform.defs.transform.project import DBT_PROJECT, ensure_manifest
from analytics_platform.defs.transform.sources import rendered_sources, write_sources


def test_committed_sources_are_what_the_contracts_give():
    rendered = rendered_sources(DBT_PROJECT.project_dir)
    on_disk = set((DBT_PROJECT.project_dir / "models").rglob("*sources*.yml"))
    assert on_disk == set(rendered)  # no hand-written sources file beside the generated ones
    drifted = [str(path) for path, text in rendered.items() if path.read_text() != text]
    assert drifted == [], "run analytics_platform.defs.transform.sources.write_sources (or prepare the manifest)"


def test_the_manifest_has_one_source_table_per_contract_with_its_columns():
    sources = json.loads(ensure_manifest().read_text())["sources"].values()
    by_identifier = {s["identifier"]: s for s in sources}
    contracts = {c.name: c for c in load_contracts()}
    assert set(by_identifier) == set(contracts)
    for name, contract in contracts.items():
        assert (by_identifier[name]["schema"], by_identifier[name]["name"]) == ("raw", contract.table)
        assert list(by_identifier[name]["columns"]) == contract.column_names
    assert by_identifier["shop__orders"]["freshness"]["warn_after"] == {"count": 26, "period": "hour"}
    assert by_identifier["shop__products"]["freshness"] is None  # freshness_hours: null


def test_a_new_contract_alone_gives_a_new_source(tmp_path):
    contracts_dir = shutil.copytree(CONTRACTS_DIR, tmp_path / "contracts")
    contract = yaml.safe_load((CONTRACTS_DIR / "shop__orders.yaml").read_text())
    contract.update(source="crm", table="tickets", file_pattern="crm/tickets/*.parquet")
    (contracts_dir / "crm__tickets.yaml").write_text(yaml.safe_dump(contract))
    project = tmp_path / "dbt_project"

    written = write_sources(project, load_contracts(contracts_dir))

    assert sorted(p.parent.name for p in written) == ["crm", "experiments", "marketing", "shop", "web"]
    (source,) = yaml.safe_load((project / "models/staging/crm/_crm__sources.yml").read_text())["sources"]
    assert (source["name"], source["schema"], [t["identifier"] for t in source["tables"]]) == ("crm", "raw", ["crm__tickets"])
    assert write_sources(project, load_contracts(contracts_dir)) == []  # written once: up to date
