"""Shared mode: dashboards and exports go to the object store under ANALYTICS_FILES_URL, never to
a local folder, and read back whole (exports: the rows of the table; a page: its bytes)."""

from analytics_platform import files, object_store, warehouse
from analytics_platform.defs.reports.dashboards.exports import ExportConfig, export_tables
from analytics_platform.resources import WarehouseResource
from analytics_platform.settings import load_settings


def test_exports_and_pages_land_in_the_bucket(servers, shared_env, tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYTICS_STATE_DIR", str(tmp_path))
    settings = load_settings()
    with warehouse.session(settings) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("CREATE TABLE marts.fct_daily_revenue AS SELECT range AS day, range * 1.5 AS revenue FROM range(500)")

    written = export_tables(WarehouseResource(), ExportConfig(tables=["fct_daily_revenue"], format="both"))
    reports = shared_env["ANALYTICS_FILES_URL"] + "reports/"
    assert sorted(w["path"] for w in written) == [f"{reports}exports/marts/fct_daily_revenue.{fmt}" for fmt in ("csv", "parquet")]
    con = servers.store.duckdb()
    for w in written:
        assert w["rows"] == 500 and w["size_bytes"] == object_store.size(settings.shared, w["path"]) > 0
        reader = "read_csv" if w["format"] == "csv" else "read_parquet"
        assert con.execute(f"SELECT count(*), sum(revenue) FROM {reader}('{w['path']}')").fetchone() == (500, sum(i * 1.5 for i in range(500)))

    location, size = files.publish(settings, "dashboards/page.html", "<html>é</html>")
    assert location == f"{reports}dashboards/page.html" and size == len("<html>é</html>".encode())
    bucket, key = object_store.split(location)
    assert object_store.client(settings.shared).get_object(Bucket=bucket, Key=key)["Body"].read().decode() == "<html>é</html>"
    assert not (tmp_path / "reports").exists()  # nothing written locally
