"""Compaction keeps every row and reduces the number of data files."""

from analytics_platform.defs.maintenance.definitions import warehouse_maintenance


def test_compaction_keeps_rows_and_merges_files(platform):
    folder = platform.landing / "shop/customers"
    folder.mkdir(parents=True)
    header = "customer_id,email,first_name,last_name,country_code,acquisition_channel,signed_up_at,updated_at"
    for day in range(1, 6):  # five runs → five commits → at least five data files
        (folder / f"c_{day}.csv").write_text(f"{header}\n{day},c{day}@x.io,A,B,DE,organic,2026-01-0{day} 00:00:00,2026-01-0{day} 00:00:00\n")
        platform.ingest()
    data = platform.settings.data_path
    before = len(list(data.rglob("*.parquet")))
    result = warehouse_maintenance.execute_in_process(
        resources={"warehouse": platform.warehouse},
        run_config={"ops": {"compact_warehouse": {"config": {"keep_snapshots_days": 0}}}},
    )
    assert result.success
    assert platform.query("SELECT count(*), sum(customer_id) FROM raw.shop__customers") == [(5, 15)]
    assert len(list(data.rglob("*.parquet"))) < before
