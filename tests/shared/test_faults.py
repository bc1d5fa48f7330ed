"""Faults of the shared mode's servers: an object store gone mid-run fails the write with an error
naming its endpoint and leaves the catalog as it was; a connection to a store or catalog that
does not answer fails at once, saying which; credentials never show in those errors or in a repr."""

import dataclasses

import duckdb
import pytest

from analytics_platform import warehouse
from analytics_platform.settings import SettingsError, load_settings
from analytics_platform.shared.processes import free_port
from analytics_platform.shared.seaweedfs import seaweedfs
from tests.shared.conftest import secrets_of


def catalog_state(servers, env) -> str:
    database = env["ANALYTICS_CATALOG_URL"].rsplit("/", 1)[1]
    return servers.postgres.psql("SELECT (SELECT max(snapshot_id) FROM ducklake_snapshot), "
                                 "(SELECT count(*) FROM ducklake_table), (SELECT count(*) FROM ducklake_data_file)", database)


def test_object_store_gone_mid_run(servers, shared_env, tmp_path, monkeypatch: pytest.MonkeyPatch):
    with seaweedfs(bucket="lake") as store:  # a store of this test's own, to stop
        monkeypatch.setenv("ANALYTICS_S3_ENDPOINT", store.endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", store.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", store.secret_key)
        con = warehouse.connect(load_settings())
        con.execute("CREATE TABLE kept AS SELECT range AS id FROM range(100)")
        before = catalog_state(servers, shared_env)
        store.stop()

        for statement in ("CREATE TABLE half AS SELECT range AS id FROM range(100000)", "INSERT INTO kept SELECT range FROM range(100)"):
            with pytest.raises(duckdb.Error) as failed:
                warehouse.transaction(con, lambda c, sql=statement: c.execute(sql))
            assert store.endpoint in str(failed.value)
            assert store.secret_key not in str(failed.value)
        assert catalog_state(servers, shared_env) == before

        with pytest.raises(warehouse.WarehouseUnavailable) as unavailable:
            warehouse.connect(load_settings(), read_only=True)  # a new attach: checked at once
        assert f"object store at {store.endpoint} (ANALYTICS_S3_ENDPOINT)" in str(unavailable.value)
        assert store.secret_key not in str(unavailable.value)
        con.close()


def test_unreachable_catalog_is_named(shared_env, monkeypatch: pytest.MonkeyPatch):
    dead = free_port()
    monkeypatch.setenv("ANALYTICS_CATALOG_URL", f"postgresql://lake@127.0.0.1:{dead}/lake")
    with pytest.raises(warehouse.WarehouseUnavailable) as unavailable:
        warehouse.connect(load_settings())
    message = str(unavailable.value)
    assert f"catalog at postgresql://lake@127.0.0.1:{dead}/lake (ANALYTICS_CATALOG_URL)" in message
    assert not any(secret in message for secret in secrets_of(shared_env))


def test_wrong_credentials_are_refused_without_showing_them(servers, shared_env, monkeypatch: pytest.MonkeyPatch):
    wrong = "Wr0ng-" + shared_env["PGPASSWORD"][::-1]
    monkeypatch.setenv("PGPASSWORD", wrong)
    with pytest.raises(warehouse.WarehouseUnavailable) as refused:
        warehouse.connect(load_settings())
    assert "password authentication failed" in str(refused.value)
    assert wrong not in str(refused.value) and shared_env["PGPASSWORD"] not in str(refused.value)

    monkeypatch.setenv("PGPASSWORD", shared_env["PGPASSWORD"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    with pytest.raises(warehouse.WarehouseUnavailable) as refused:
        warehouse.connect(load_settings())
    assert servers.store.endpoint in str(refused.value) and "403" in str(refused.value)
    assert wrong not in str(refused.value) and shared_env["AWS_SECRET_ACCESS_KEY"] not in str(refused.value)


def test_password_in_the_url_works_and_stays_hidden(servers, shared_env, monkeypatch: pytest.MonkeyPatch):
    password = shared_env["PGPASSWORD"]
    url = shared_env["ANALYTICS_CATALOG_URL"].replace("postgresql://lake@", f"postgresql://lake:{password}@")
    monkeypatch.setenv("ANALYTICS_CATALOG_URL", url)
    monkeypatch.delenv("PGPASSWORD")
    settings = load_settings()
    with warehouse.session(settings) as con:
        assert con.execute("SELECT 42").fetchall() == [(42,)]
    shown = [repr(settings), str(settings), warehouse.describe(settings), settings.shared.catalog_dsn, warehouse.attach_sql(settings)]
    assert not any(secret in text for text in shown for secret in secrets_of(shared_env))
    assert dataclasses.asdict(settings)["shared"]["catalog_password"] == password  # held, only not shown

    monkeypatch.setenv("ANALYTICS_CATALOG_URL", url.replace(f":{servers.postgres.port}/", ":not-a-port/"))
    with pytest.raises(SettingsError) as bad:
        load_settings()
    assert password not in str(bad.value)


def test_postgres_restart_under_an_open_warehouse_is_named_and_the_next_session_reconnects(servers, shared_env):
    """A long-lived process (a code server, a run's step) keeps its DuckDB instance. When the
    catalog's PostgreSQL restarts in the middle of a session, that session fails naming the catalog
    and commits nothing; the next session reconnects by itself (before: every later session of the
    process failed with the dead connection)."""
    settings = load_settings()
    with warehouse.session(settings) as con:
        con.execute("CREATE TABLE main.survives AS SELECT range AS id FROM range(3)")
    with pytest.raises(warehouse.WarehouseUnavailable) as caught, warehouse.session(settings) as con:
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO main.survives VALUES (99)")
        servers.postgres.restart()
        con.execute("INSERT INTO main.survives VALUES (100)")
        con.execute("COMMIT")
    message = str(caught.value)
    assert "ANALYTICS_CATALOG_URL" in message and f":{servers.postgres.port}/" in message, message
    assert not any(secret in message for secret in secrets_of(shared_env))
    with warehouse.session(settings) as con:
        con.execute("INSERT INTO main.survives VALUES (3)")
        assert con.execute("SELECT list(id ORDER BY id) FROM main.survives").fetchone()[0] == [0, 1, 2, 3]
