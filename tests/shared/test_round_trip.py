"""The platform's own connection in shared mode: tables land as Parquet objects in the bucket and
as rows of the DuckLake catalog in PostgreSQL; maintenance works on the object store."""

from analytics_platform import warehouse
from analytics_platform.defs.maintenance.definitions import warehouse_maintenance
from analytics_platform.resources import WarehouseResource
from analytics_platform.settings import load_settings


def test_write_and_read_through_postgres_and_the_object_store(servers, shared_env):
    settings = load_settings()
    assert settings.shared is not None and warehouse.exists(settings)
    with warehouse.session(settings) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        con.execute(f"CREATE TABLE raw.{warehouse.quote_ident('orders')} AS SELECT range AS id, range * 2 AS amount FROM range(1000)")
        warehouse.transaction(con, lambda c: c.execute("INSERT INTO raw.orders SELECT range + 1000, 1 FROM range(10)"))
    with warehouse.session(settings, read_only=True) as con:
        assert con.execute("SELECT count(*), sum(id) FROM raw.orders").fetchall() == [(1010, sum(range(1010)))]

    prefix = shared_env["ANALYTICS_DATA_URL"].removeprefix(f"s3://{servers.store.bucket}/")
    objects = servers.store.list(prefix)
    assert len([o for o in objects if "/raw/orders/" in o and o.endswith(".parquet")]) == 2, objects
    database = shared_env["ANALYTICS_CATALOG_URL"].rsplit("/", 1)[1]
    tables = servers.postgres.psql("SELECT s.schema_name, t.table_name FROM ducklake_table t JOIN ducklake_schema s USING (schema_id) "
                                   "WHERE t.end_snapshot IS NULL", database)
    assert "raw\torders" in tables.splitlines()
    files = servers.postgres.psql("SELECT count(*), sum(record_count) FROM ducklake_data_file WHERE end_snapshot IS NULL", database)
    assert files.split() == ["2", "1010"]


def test_maintenance_compacts_files_in_the_bucket(servers, shared_env):
    with warehouse.session(load_settings()) as con:
        con.execute("CREATE TABLE events (id INTEGER)")
        for day in range(5):
            con.execute("INSERT INTO events VALUES (?)", [day])
    prefix = shared_env["ANALYTICS_DATA_URL"].removeprefix(f"s3://{servers.store.bucket}/")
    before = len(servers.store.list(prefix))
    result = warehouse_maintenance.execute_in_process(
        resources={"warehouse": WarehouseResource()},
        run_config={"ops": {"compact_warehouse": {"config": {"keep_snapshots_days": 0}}}},
    )
    assert result.success
    with warehouse.session(load_settings(), read_only=True) as con:
        assert con.execute("SELECT count(*), sum(id) FROM events").fetchall() == [(5, 10)]
    assert len(servers.store.list(prefix)) < before == 5
