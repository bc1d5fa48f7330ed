"""Sample files → raw → dbt marts in shared mode give the marts of the same build on the embedded
warehouse, row for row in count; the shared build's events and dbt logs hold no credential."""

from pathlib import Path

import dagster as dg
import pytest

from analytics_platform.defs.transform.project import DBT_PROJECT
from analytics_platform.sample_data import generate, write_landing
from analytics_platform.settings import CATALOG_URL_VARIABLE
from tests.shared.conftest import secrets_of
from tests.transform.support import build, ingest, landed_files, query

SEED, SCALE, DAYS = 42, 0.02, 14


def build_marts(state: Path, landing: Path) -> tuple[dict[str, int], dg.ExecuteInProcessResult]:
    """Ingest every landed file, ``dbt build`` everything; row counts of the marts."""
    instance = dg.DagsterInstance.ephemeral()
    ingest(state, landing, landed_files(landing), instance)
    result = build(state, instance)
    tables = query(state, "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'lake' AND table_schema = 'marts' "
                          "AND table_type = 'BASE TABLE' ORDER BY 1")["table_name"].to_list()
    return {t: query(state, f'SELECT count(*) AS n FROM marts."{t}"')["n"][0] for t in tables}, result


def test_shared_build_equals_embedded_build(servers, shared_env, tmp_path, monkeypatch: pytest.MonkeyPatch):
    landing = tmp_path / "landing"
    write_landing(generate(seed=SEED, scale=SCALE, days=DAYS), landing)

    shared, result = build_marts(tmp_path / "shared", landing)
    text = "\n".join(str(event) for event in result.all_events)
    dbt_logs = "\n".join(p.read_text(errors="replace") for p in Path(DBT_PROJECT.project_dir).glob("**/dbt.log"))

    with monkeypatch.context() as embedded_mode:
        embedded_mode.delenv(CATALOG_URL_VARIABLE)
        embedded, _ = build_marts(tmp_path / "embedded", landing)

    assert len(embedded) >= 5 and all(n > 0 for n in embedded.values()), embedded
    assert shared == embedded
    prefix = shared_env["ANALYTICS_DATA_URL"].removeprefix(f"s3://{servers.store.bucket}/")
    assert any("/marts/" in o for o in servers.store.list(prefix))
    assert not (tmp_path / "shared" / "warehouse" / "catalog.sqlite").exists()
    for secret in secrets_of(shared_env):
        assert secret not in text and secret not in dbt_logs
