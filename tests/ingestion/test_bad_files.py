"""A corpus of awkward files: each is loaded exactly or quarantined with the right reason,
never half-loaded, and good files beside bad ones still load."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

HEADER = "customer_id,email,first_name,last_name,country_code,acquisition_channel,signed_up_at,updated_at"


def row(i: int, first: str = "Ann", sep: str = ",") -> str:
    return sep.join([str(i), f"c{i}@example.com", first, "Lee", "DE", "organic", "2026-01-01 10:00:00", "2026-01-01 10:00:00"])


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def parquet_bytes(tmp: Path, sql: str) -> bytes:
    path = tmp / "x.parquet"
    duckdb.sql(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
    return path.read_bytes()


ORDER_SQL = ("SELECT 1::BIGINT order_id, 1::BIGINT customer_id, 's1' session_id, TIMESTAMP '2026-01-01 10:05:00' ordered_at, "
             "'placed' status, 'organic' channel, 'DE' country_code, 10.5::DECIMAL(12,2) order_total, TIMESTAMP '2026-01-01 10:05:00' updated_at")

# name → (relative path, content, expected: int rows loaded | str quarantine reason code)
CASES: dict[str, tuple[str, bytes | None, int | str]] = {
    "good": ("shop/customers/good.csv", csv(HEADER, row(1), row(2)), 2),
    "utf8_bom": ("shop/customers/bom.csv", b"\xef\xbb\xbf" + csv(HEADER, row(3)), 1),
    "latin1": ("shop/customers/latin1.csv", csv(HEADER, row(4, "José")).decode().encode("latin-1"), 1),
    "cp1252": ("shop/customers/cp1252.csv", csv(HEADER, row(5, "“Zoë”")).decode().encode("cp1252"), 1),
    "utf16_bom": ("shop/customers/utf16.csv", csv(HEADER, row(6, "Ōno")).decode().encode("utf-16"), 1),
    "quoted_newline": ("shop/customers/quoted.csv", csv(HEADER, row(7, '"Multi\nLine, Jr"'), row(8)), 2),
    "semicolons": ("shop/customers/semi.csv", csv(HEADER.replace(",", ";"), row(9, sep=";")), 1),
    "header_only": ("shop/customers/header_only.csv", csv(HEADER), 0),
    "added_column": ("shop/customers/added.csv", csv(HEADER + ",loyalty_tier", row(10) + ",gold"), 1),
    "hostile_name": ("shop/customers/x'; DROP TABLE raw.shop__customers; --.csv", csv(HEADER, row(11)), 1),
    "unicode_name": ("shop/customers/kunden_ü_😀.csv", csv(HEADER, row(12)), 1),
    "empty": ("shop/customers/empty.csv", b"", "empty_file"),
    "nul_byte": ("shop/customers/nul.csv", csv(HEADER, row(20, "A\x00B")), "nul_bytes"),
    "extra_field": ("shop/customers/extra.csv", csv(HEADER, row(21), row(22) + ",SURPRISE", row(23)), "ragged_rows"),
    "missing_field": ("shop/customers/fewer.csv", csv(HEADER, row(24), "25,c25@example.com,Bo", row(26)), "ragged_rows"),
    "one_extra_row_only": ("shop/customers/extra1.csv", csv(HEADER, row(27) + ",X"), "ragged_rows"),
    "wrong_delimiter": ("shop/customers/hash.csv", csv(HEADER.replace(",", "#"), row(28, sep="#")), "wrong_delimiter"),
    "missing_required": ("shop/customers/missing.csv", csv(HEADER.replace(",email", ""), row(29).replace(",c29@example.com", "")), "missing_required_column"),
    "bad_type": ("shop/customers/badtype.csv", csv(HEADER, row(30), row(31).replace("31,", "thirty-one,", 1)), "type_cast_failed"),
    "required_null": ("shop/customers/nullreq.csv", csv(HEADER, row(32).replace("DE", "")), "required_null"),
    "bad_json": (
        "web/sessions/bad.ndjson",
        b'{"session_id": "s1", "started_at": "2026-01-01 10:00:00", "channel": "x", "device": "d", "country_code": "DE"}\n{not json\n',
        "malformed_json",
    ),
    "truncated_parquet": ("shop/orders/broken.parquet", None, "malformed_parquet"),
    "good_parquet": ("shop/orders/good.parquet", None, 1),
}


@pytest.fixture
def corpus(platform, tmp_path):
    for name, (relative, content, _) in CASES.items():
        path = platform.landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if name == "good_parquet":
            content = parquet_bytes(tmp_path, ORDER_SQL)
        elif name == "truncated_parquet":
            content = parquet_bytes(tmp_path, ORDER_SQL)[:-40]
        path.write_bytes(content)
    return platform


def test_each_file_is_loaded_exactly_or_quarantined_with_its_reason(corpus):
    result = corpus.ingest()
    assert result.success, "bad files must never fail the run"
    quarantine = dict(corpus.query("SELECT source_file, reason_code FROM meta.quarantine"))
    loaded = dict(corpus.query("SELECT source_file, rows_loaded FROM meta.ingest_ledger WHERE status = 'loaded'"))
    rows_by_file = dict(
        corpus.query(
            "SELECT _source_file, count(*) FROM raw.shop__customers GROUP BY ALL "
            "UNION ALL SELECT _source_file, count(*) FROM raw.shop__orders GROUP BY ALL"
        )
    )
    for name, (relative, _, expected) in CASES.items():
        if isinstance(expected, int):
            assert relative not in quarantine, f"{name}: quarantined ({quarantine.get(relative)}) but should load"
            assert loaded.get(relative) == expected, f"{name}: ledger says {loaded.get(relative)}"
            assert rows_by_file.get(relative, 0) == expected, f"{name}: table holds {rows_by_file.get(relative, 0)} rows"
            assert (corpus.landing / relative).exists(), f"{name}: a loaded file stays in landing"
        else:
            assert quarantine.get(relative) == expected, f"{name}: expected {expected}, got {quarantine.get(relative)}"
            assert relative not in loaded and rows_by_file.get(relative, 0) == 0, f"{name}: half-loaded"
            assert not (corpus.landing / relative).exists(), f"{name}: still in landing"
            reasons = list((corpus.settings.quarantine_dir).rglob(f"*__{Path(relative).name}.reason.json"))
            assert len(reasons) == 1, f"{name}: reason file missing"
            assert json.loads(reasons[0].read_text())["reason_code"] == expected
            assert reasons[0].with_name(reasons[0].name.replace(".reason.json", "")).exists()


def test_decoded_values_are_exact(corpus):
    corpus.ingest()
    names = dict(corpus.query("SELECT customer_id, first_name FROM raw.shop__customers"))
    assert names[4] == "José"
    assert names[5] == "“Zoë”"
    assert names[6] == "Ōno"
    assert names[7] == "Multi\nLine, Jr"


def test_hostile_file_name_is_data_not_sql(corpus):
    corpus.ingest()
    assert corpus.query("SELECT count(*) FROM raw.shop__customers WHERE customer_id = 11") == [(1,)]
    assert corpus.query("SELECT count(*) FROM raw.shop__customers")[0][0] >= 10  # table not dropped


def test_contract_check_fails_and_names_the_quarantined_files(corpus):
    result = corpus.ingest()
    checks = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    conformity = checks[("shop__customers", "contract_conformity")]
    assert not conformity.passed
    listed = {q["source_file"] for q in conformity.metadata["quarantined"].value}
    assert "shop/customers/extra.csv" in listed and "shop/customers/badtype.csv" in listed
    assert checks[("shop__customers", "row_reconciliation")].passed
    assert checks[("shop__orders", "contract_conformity")].passed is False  # the truncated parquet


def test_same_content_again_is_a_reported_no_op(platform):
    (platform.landing / "shop/customers").mkdir(parents=True)
    (platform.landing / "shop/customers/a.csv").write_bytes(csv(HEADER, row(1), row(2)))
    platform.ingest()
    (platform.landing / "shop/customers/a_copy.csv").write_bytes(csv(HEADER, row(1), row(2)))
    result = platform.ingest()
    assert platform.query("SELECT count(*) FROM raw.shop__customers") == [(2,)]
    events = result.get_asset_materialization_events()
    assert not events, "a duplicate alone materializes nothing new"
    # and a re-run with nothing new is a no-op as well
    assert platform.ingest().success
    assert platform.query("SELECT count(*) FROM meta.ingest_ledger") == [(1,)]


def test_corrected_redelivery_replaces_the_previous_version(platform):
    (platform.landing / "shop/customers").mkdir(parents=True)
    path = platform.landing / "shop/customers/day1.csv"
    path.write_bytes(csv(HEADER, row(1), row(2), row(3)))
    platform.ingest()
    path.write_bytes(csv(HEADER, row(1, "Anne"), row(2)))  # corrected: one row fixed, one removed
    result = platform.ingest()
    assert platform.query("SELECT customer_id, first_name FROM raw.shop__customers ORDER BY 1") == [(1, "Anne"), (2, "Ann")]
    assert platform.query("SELECT version, status FROM meta.ingest_ledger ORDER BY version") == [(1, "superseded"), (2, "loaded")]
    (mat,) = result.get_asset_materialization_events()
    assert mat.materialization.metadata["corrected_versions"].value == 1
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["row_reconciliation"]


def test_uncontracted_files_load_with_inferred_types_and_safe_names(platform):
    folder = platform.landing / 'we"ird; DROP TABLE x; --'
    folder.mkdir()
    (folder / "data.csv").write_text("day,temp,city\n2026-01-01,3.5,Berlin\n2026-01-02,4.0,Paris\n")
    platform.ingest()
    (table,) = platform.query("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'uncontracted'")
    assert table == ("we_ird_drop_table_x",)
    types = dict(platform.query(f"SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = '{table[0]}'"))
    assert types["day"] == "DATE" and types["temp"] == "DOUBLE" and types["city"] == "VARCHAR"
    assert platform.query("SELECT contracted FROM meta.ingest_ledger") == [(False,)]
