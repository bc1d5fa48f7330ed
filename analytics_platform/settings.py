"""Where the platform keeps its files and its warehouse, from one place.

Every path comes from an environment variable with a project-local default, so the Dagster
resources, dbt's profile (``dbt_project/profiles.yml``) and the command line all agree, and
``rm -rf .state landing`` resets the platform. Nothing here opens a file or a connection.

Which warehouse is one setting. Unset, the DuckLake is embedded: a SQLite catalog file and a
Parquet folder under the state folder. With ``ANALYTICS_CATALOG_URL`` (a PostgreSQL URL) it is
shared: the catalog in PostgreSQL, the data under ``ANALYTICS_DATA_URL`` (``s3://bucket/prefix/``)
on the S3-compatible object store at ``ANALYTICS_S3_ENDPOINT``; ``ANALYTICS_LANDING_URL``
(``s3://bucket/landing/``, optional) adds a landing prefix on that store. Credentials come from the
environment only (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``PGPASSWORD`` or the URL's
password) and never show in a repr, a log line or an error this module raises.

The platform's own services follow the same way. ``ANALYTICS_DAGSTER_URL`` puts Dagster's instance
(runs, event log, schedules) in PostgreSQL (``instance_storage.py``); ``ANALYTICS_MLFLOW_URL`` puts
MLflow's tracking and registry there. In shared mode MLflow's artifacts, dashboards and exports go
to ``ANALYTICS_FILES_URL`` on the object store (default: ``files/`` beside the data prefix). Those
two URLs carry no password: the driver (libpq) reads ``PGPASSWORD``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# Set for the dbt processes the platform starts: their pid of the parent (see dbt_plugin.die_with_parent).
DBT_PARENT_PID_VARIABLE = "ANALYTICS_DBT_PARENT_PID"
# ... and the id of the run they belong to (named to an engineer whose dbt waits for it: dbt_plugin).
DBT_RUN_ID_VARIABLE = "ANALYTICS_DBT_RUN_ID"


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set the variables that have a value for the block, then restore what was there (a child
    process started inside it, dbt or MLflow's S3 client, sees them)."""
    saved = {key: os.environ.get(key) for key, value in values.items() if value is not None}
    os.environ.update({key: value for key, value in values.items() if value is not None})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


CATALOG_URL_VARIABLE = "ANALYTICS_CATALOG_URL"
DATA_URL_VARIABLE = "ANALYTICS_DATA_URL"
S3_ENDPOINT_VARIABLE = "ANALYTICS_S3_ENDPOINT"
DAGSTER_URL_VARIABLE = "ANALYTICS_DAGSTER_URL"
MLFLOW_URL_VARIABLE = "ANALYTICS_MLFLOW_URL"
FILES_URL_VARIABLE = "ANALYTICS_FILES_URL"
LANDING_URL_VARIABLE = "ANALYTICS_LANDING_URL"


class SettingsError(ValueError):
    """A setting that cannot work; the message names the variable, never a credential."""


def _libpq_value(value: str) -> str:
    """A value of a libpq ``key=value`` connection string (quoted when it needs to be)."""
    if value and not any(c in value for c in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class SharedWarehouse:
    """The shared mode's DuckLake: catalog in PostgreSQL, data files on S3-compatible storage.

    The secrets are fields left out of ``repr``; the catalog string given to DuckDB never holds the
    password (DuckDB repeats that string in its connection errors), see ``warehouse.prepare``.
    """

    catalog_host: str
    catalog_port: int
    catalog_database: str
    catalog_user: str
    data_url: str       # s3://bucket/prefix/ (always ends with a slash)
    s3_endpoint: str    # host:port, no scheme
    s3_use_ssl: bool
    s3_region: str
    catalog_password: str | None = field(default=None, repr=False)
    s3_key_id: str | None = field(default=None, repr=False)
    s3_secret: str | None = field(default=None, repr=False)
    # MLflow artifacts, dashboards and exports (s3://bucket/prefix/, beside the data, never in it:
    # DuckLake's orphan-file clean-up owns the data prefix).
    files_url: str = ""

    @property
    def catalog_dsn(self) -> str:
        """libpq connection string of the catalog database, without the password."""
        parts = {"host": self.catalog_host, "port": str(self.catalog_port), "dbname": self.catalog_database, "user": self.catalog_user}
        return " ".join(f"{key}={_libpq_value(value)}" for key, value in parts.items())

    @property
    def catalog_url(self) -> str:
        """The catalog as a URL without the password: safe to log and to show."""
        return f"postgresql://{self.catalog_user}@{self.catalog_host}:{self.catalog_port}/{self.catalog_database}"

    @property
    def bucket(self) -> str:
        return urlsplit(self.data_url).netloc

    @property
    def s3_endpoint_url(self) -> str:
        """The endpoint as a URL (boto3, MLflow's ``MLFLOW_S3_ENDPOINT_URL``)."""
        return f"{'https' if self.s3_use_ssl else 'http'}://{self.s3_endpoint}"


def service_url(variable: str, env: os._Environ[str] | dict[str, str] | None = None) -> str | None:
    """The PostgreSQL URL in ``variable`` for one of the platform's services (Dagster, MLflow),
    checked: ``postgresql://user@host:port/database``, without a password (``PGPASSWORD``), as a
    SQLAlchemy URL with the psycopg2 driver."""
    value = (os.environ if env is None else env).get(variable)
    if not value:
        return None
    url = urlsplit(value)
    if url.scheme not in ("postgresql", "postgres") or not url.hostname or not url.path.strip("/"):
        raise SettingsError(f"{variable} must be a URL like postgresql://user@host:5432/database (got scheme {url.scheme!r})")
    if url.password:
        raise SettingsError(f"{variable} must not hold a password: put it in PGPASSWORD")
    # SQLAlchemy 2.1 (Dagster's and MLflow's stores) would pick psycopg 3 for a bare postgresql://
    return "postgresql+psycopg2://" + value.split("://", 1)[1]


def _files_url(env: os._Environ[str] | dict[str, str], data_url: str) -> str:
    url = env.get(FILES_URL_VARIABLE) or data_url.rstrip("/").rsplit("/", 1)[0] + "/files/"
    if not url.startswith("s3://") or urlsplit(url).netloc != urlsplit(data_url).netloc:
        raise SettingsError(f"{FILES_URL_VARIABLE} must be s3://<the bucket of {DATA_URL_VARIABLE}>/prefix/")
    url = url if url.endswith("/") else url + "/"
    if url.startswith(data_url) or data_url.startswith(url):
        raise SettingsError(f"{FILES_URL_VARIABLE} must not overlap {DATA_URL_VARIABLE}: DuckLake owns the data prefix")
    return url


def _shared_warehouse(env: os._Environ[str] | dict[str, str]) -> SharedWarehouse | None:
    catalog_url = env.get(CATALOG_URL_VARIABLE)
    if not catalog_url:
        return None
    url = urlsplit(catalog_url)
    if url.scheme not in ("postgresql", "postgres") or not url.hostname:
        raise SettingsError(f"{CATALOG_URL_VARIABLE} must be a URL like postgresql://user@host:5432/database "
                            f"(got scheme {url.scheme!r})")
    data_url = env.get(DATA_URL_VARIABLE, "")
    if not data_url.startswith("s3://") or not urlsplit(data_url).netloc:
        raise SettingsError(f"{CATALOG_URL_VARIABLE} is set (shared mode): {DATA_URL_VARIABLE} must be s3://bucket/prefix/")
    endpoint = env.get(S3_ENDPOINT_VARIABLE, "")
    if not endpoint:
        raise SettingsError(f"{CATALOG_URL_VARIABLE} is set (shared mode): {S3_ENDPOINT_VARIABLE} must be host:port of the object store")
    try:
        port = url.port or 5432
    except ValueError:
        raise SettingsError(f"{CATALOG_URL_VARIABLE}: the port is not a number") from None
    use_ssl = endpoint.startswith("https://")
    endpoint = endpoint.removeprefix("https://").removeprefix("http://").rstrip("/")
    return SharedWarehouse(
        catalog_host=url.hostname,
        catalog_port=port,
        catalog_database=unquote(url.path.lstrip("/")) or unquote(url.username or "") or "postgres",
        catalog_user=unquote(url.username or "") or env.get("PGUSER") or "postgres",
        data_url=data_url if data_url.endswith("/") else data_url + "/",
        s3_endpoint=endpoint,
        s3_use_ssl=use_ssl,
        s3_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        catalog_password=unquote(url.password) if url.password else env.get("PGPASSWORD") or None,
        s3_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
        s3_secret=env.get("AWS_SECRET_ACCESS_KEY") or None,
        files_url=_files_url(env, data_url if data_url.endswith("/") else data_url + "/"),
    )


@dataclass(frozen=True)
class Settings:
    """Resolved locations. Build one with :func:`load_settings` (reads the environment)."""

    state_dir: Path
    warehouse_dir: Path
    landing_dir: Path
    quarantine_dir: Path
    reports_dir: Path
    mlflow_dir: Path
    # One small YAML per uncontracted dataset naming the column its model predicts
    # (``<datasets_dir>/<dataset>.yml``; see ``defs/reports/dataset_models/target.py``).
    datasets_dir: Path
    # DuckDB's memory_limit in every platform process (dbt's profile reads the same variable):
    # beyond it joins, aggregates and sorts spill to ``duckdb_temp_dir``. DuckDB's own default
    # is 80 % of the machine's RAM per process.
    duckdb_memory_limit: str
    # None: the embedded warehouse (SQLite catalog + Parquet folder under ``warehouse_dir``).
    shared: SharedWarehouse | None = None
    # Shared mode only: a landing prefix on the object store (``s3://bucket/landing/``), watched
    # beside ``landing_dir``; rejected objects are copied to ``object_quarantine_url`` beside it.
    landing_url: str | None = None

    @property
    def object_quarantine_url(self) -> str | None:
        return quarantine_beside(self.landing_url) if self.landing_url else None

    @property
    def duckdb_temp_dir(self) -> Path:
        return self.state_dir / "tmp" / "duckdb"

    @property
    def catalog_path(self) -> Path:
        """SQLite file holding the embedded DuckLake's catalog (table metadata, snapshots)."""
        return self.warehouse_dir / "catalog.sqlite"

    @property
    def data_path(self) -> Path:
        """Folder of the embedded DuckLake's Parquet data files."""
        return self.warehouse_dir / "data"

    @property
    def alerts_log(self) -> Path:
        return self.state_dir / "alerts.log"

    @property
    def mlflow_store(self) -> MlflowStore:
        """Where MLflow tracks runs and keeps artifacts: a SQLite file and a folder under
        ``mlflow_dir``, or in shared mode PostgreSQL (``ANALYTICS_MLFLOW_URL``) and the object store."""
        if self.shared is None:
            return MlflowStore.local(self.mlflow_dir)
        tracking = service_url(MLFLOW_URL_VARIABLE)
        if tracking is None:
            raise SettingsError(f"{CATALOG_URL_VARIABLE} is set (shared mode): {MLFLOW_URL_VARIABLE} must name MLflow's "
                                "PostgreSQL database (postgresql://user@host:5432/mlflow)")
        return MlflowStore(tracking, self.shared.files_url + "mlflow/", s3_endpoint_url=self.shared.s3_endpoint_url)


@dataclass(frozen=True)
class MlflowStore:
    """MLflow's tracking + registry URI and the experiments' artifact location."""

    tracking_uri: str
    artifact_location: str
    local_dir: Path | None = None     # the embedded store's folder
    s3_endpoint_url: str | None = None

    @classmethod
    def local(cls, mlflow_dir: Path) -> MlflowStore:
        folder = Path(mlflow_dir).resolve()
        return cls(f"sqlite:///{folder / 'mlflow.db'}", (folder / "artifacts").as_uri(), folder)

    def exists(self) -> bool:
        """False only for a local store that was never written (nothing to read yet)."""
        return self.local_dir is None or (self.local_dir / "mlflow.db").exists()


def load_settings() -> Settings:
    state = _path("ANALYTICS_STATE_DIR", PROJECT_ROOT / ".state")
    return Settings(
        state_dir=state,
        # dbt's profile reads the same variable with the same default (relative to dbt_project/).
        warehouse_dir=_path("ANALYTICS_WAREHOUSE_DIR", state / "warehouse"),
        landing_dir=_path("ANALYTICS_LANDING_DIR", PROJECT_ROOT / "landing"),
        quarantine_dir=_path("ANALYTICS_QUARANTINE_DIR", state / "quarantine"),
        reports_dir=_path("ANALYTICS_REPORTS_DIR", state / "reports"),
        mlflow_dir=_path("ANALYTICS_MLFLOW_DIR", state / "mlflow"),
        datasets_dir=_path("ANALYTICS_DATASETS_DIR", PROJECT_ROOT / "datasets"),
        # dbt's profile reads the same variable with the same default.
        duckdb_memory_limit=os.environ.get("ANALYTICS_DUCKDB_MEMORY_LIMIT") or "900MB",
        shared=(shared := _shared_warehouse(os.environ)),
        landing_url=_landing_url(os.environ, shared),
    )


def quarantine_beside(landing_url: str) -> str:
    """``s3://bucket/quarantine/`` beside ``s3://bucket/landing/`` (the landing prefix's sibling)."""
    return landing_url.rstrip("/").rsplit("/", 1)[0] + "/quarantine/"


def _landing_url(env: os._Environ[str] | dict[str, str], shared: SharedWarehouse | None) -> str | None:
    url = env.get(LANDING_URL_VARIABLE)
    if not url:
        return None
    if shared is None:
        raise SettingsError(f"{LANDING_URL_VARIABLE} needs the shared mode ({CATALOG_URL_VARIABLE}, {S3_ENDPOINT_VARIABLE}): "
                            "the object store's endpoint and credentials are the warehouse's")
    parts = urlsplit(url)
    prefix = parts.path.strip("/")
    if parts.scheme != "s3" or parts.netloc != shared.bucket or not prefix or prefix == "quarantine":
        raise SettingsError(f"{LANDING_URL_VARIABLE} must be s3://{shared.bucket}/<prefix>/ (the warehouse's bucket, "
                            "a prefix other than quarantine/)")
    url = f"s3://{parts.netloc}/{prefix}/"
    for variable, other in ((DATA_URL_VARIABLE, shared.data_url), (FILES_URL_VARIABLE, shared.files_url)):
        if other.startswith(url) or url.startswith(other) or other.startswith(quarantine_beside(url)):
            raise SettingsError(f"{LANDING_URL_VARIABLE} must not overlap {variable} ({other}) or its quarantine/ beside it")
    return url
