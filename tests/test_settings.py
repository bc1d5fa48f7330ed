"""The shared mode's settings for the platform's own services: where MLflow, Dagster's instance and
the files go, from the environment only, never with a password in a URL."""

import pytest

from analytics_platform.settings import (
    CATALOG_URL_VARIABLE,
    DATA_URL_VARIABLE,
    FILES_URL_VARIABLE,
    MLFLOW_URL_VARIABLE,
    S3_ENDPOINT_VARIABLE,
    SettingsError,
    load_settings,
    service_url,
)

SHARED = {CATALOG_URL_VARIABLE: "postgresql://lake@db:5432/lake", DATA_URL_VARIABLE: "s3://bucket/team/data/",
          S3_ENDPOINT_VARIABLE: "https://store:9000", "PGPASSWORD": "pg-secret", "AWS_SECRET_ACCESS_KEY": "s3-secret"}


@pytest.fixture
def shared(monkeypatch, tmp_path):
    for key in (CATALOG_URL_VARIABLE, DATA_URL_VARIABLE, S3_ENDPOINT_VARIABLE, MLFLOW_URL_VARIABLE, FILES_URL_VARIABLE):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ANALYTICS_STATE_DIR", str(tmp_path))
    for key, value in SHARED.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_embedded_mlflow_is_a_local_store(monkeypatch, tmp_path):
    monkeypatch.delenv(CATALOG_URL_VARIABLE, raising=False)
    monkeypatch.setenv("ANALYTICS_STATE_DIR", str(tmp_path))
    store = load_settings().mlflow_store
    assert store.tracking_uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    assert store.artifact_location == (tmp_path / "mlflow" / "artifacts").as_uri() and not store.exists()


def test_shared_mlflow_is_postgres_and_the_object_store(shared):
    with pytest.raises(SettingsError, match=MLFLOW_URL_VARIABLE):
        _ = load_settings().mlflow_store
    shared.setenv(MLFLOW_URL_VARIABLE, "postgresql://lake@db:5432/mlflow")
    store = load_settings().mlflow_store
    assert store.tracking_uri == "postgresql+psycopg2://lake@db:5432/mlflow"
    assert store.artifact_location == "s3://bucket/team/files/mlflow/"  # files/ beside the data prefix
    assert store.s3_endpoint_url == "https://store:9000" and store.exists()
    assert "secret" not in repr(store) + repr(load_settings())


@pytest.mark.parametrize("files_url", ["s3://other-bucket/files/", "s3://bucket/team/data/files/", "s3://bucket/"])
def test_files_never_go_into_the_data_prefix_or_another_bucket(shared, files_url):
    shared.setenv(FILES_URL_VARIABLE, files_url)
    with pytest.raises(SettingsError, match=FILES_URL_VARIABLE):
        load_settings()


@pytest.mark.parametrize(("value", "error"), [
    ("postgresql://lake:example@db:5432/dagster", "must not hold a password"),
    ("mysql://lake@db/dagster", "must be a URL like"),
    ("postgresql://lake@db:5432", "must be a URL like"),
])
def test_service_urls_are_checked(value, error):
    with pytest.raises(SettingsError, match=error) as raised:
        service_url("ANALYTICS_DAGSTER_URL", {"ANALYTICS_DAGSTER_URL": value})
    assert "lake:example" not in str(raised.value)  # the URL (and its password) is never echoed
    assert service_url("ANALYTICS_DAGSTER_URL", {}) is None
