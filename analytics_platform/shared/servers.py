"""Both servers of the shared mode, started together, and the environment that points the platform at them.

    with shared_servers() as servers:      # PostgreSQL + SeaweedFS on 127.0.0.1, temporary folders
        os.environ.update(servers.env())   # ANALYTICS_CATALOG_URL, ANALYTICS_DATA_URL, ANALYTICS_S3_ENDPOINT,
        ...                                # ANALYTICS_MLFLOW_URL, ANALYTICS_DAGSTER_URL, PGPASSWORD, AWS_*

One PostgreSQL server holds the DuckLake catalog (database ``lake``), Dagster's instance
(``dagster``) and MLflow's store (``mlflow``); a deployment may use one server or three.

``python -m analytics_platform.shared.servers [--folder DIR]`` runs them in the foreground until
Ctrl-C and writes the environment to ``<DIR>/shared.env`` (mode 0600; ``set -a; . shared.env``),
printing only the variables that hold no secret. Stopping ends both process groups.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from analytics_platform.settings import (
    CATALOG_URL_VARIABLE,
    DAGSTER_URL_VARIABLE,
    DATA_URL_VARIABLE,
    FILES_URL_VARIABLE,
    MLFLOW_URL_VARIABLE,
    S3_ENDPOINT_VARIABLE,
)
from analytics_platform.shared.postgres import Postgres, postgres
from analytics_platform.shared.seaweedfs import ObjectStore, seaweedfs

SECRET_VARIABLES = ("PGPASSWORD", "AWS_SECRET_ACCESS_KEY")
SERVICE_DATABASES = ("dagster", "mlflow")  # created at start beside the catalog's


@dataclass
class SharedServers:
    postgres: Postgres
    store: ObjectStore
    data_prefix: str = "data/"

    @property
    def data_url(self) -> str:
        return f"s3://{self.store.bucket}/{self.data_prefix}"

    def database_url(self, database: str) -> str:
        return f"postgresql://{self.postgres.user}@{self.postgres.host}:{self.postgres.port}/{database}"

    def env(self) -> dict[str, str]:
        """The variables that put the platform (dbt, MLflow, Dagster's instance) in shared mode on these servers."""
        return {
            CATALOG_URL_VARIABLE: self.postgres.url,
            DAGSTER_URL_VARIABLE: self.database_url("dagster"),
            MLFLOW_URL_VARIABLE: self.database_url("mlflow"),
            "PGPASSWORD": self.postgres.password,
            DATA_URL_VARIABLE: self.data_url,
            S3_ENDPOINT_VARIABLE: self.store.endpoint,
            "AWS_ACCESS_KEY_ID": self.store.access_key,
            "AWS_SECRET_ACCESS_KEY": self.store.secret_key,
        }

    def lake_env(self, name: str) -> dict[str, str]:
        """:meth:`env` for a platform of its own on the same servers: databases ``name`` (the
        catalog), ``name_mlflow`` and ``name_dagster`` (created when missing), the data prefix
        ``name/`` and the files prefix ``name_files/`` (tests give each case one)."""
        for database in (name, *(f"{name}_{service}" for service in SERVICE_DATABASES)):
            self.postgres.create_database(database)
        return {**self.env(), CATALOG_URL_VARIABLE: self.database_url(name), DATA_URL_VARIABLE: f"s3://{self.store.bucket}/{name}/",
                DAGSTER_URL_VARIABLE: self.database_url(f"{name}_dagster"), MLFLOW_URL_VARIABLE: self.database_url(f"{name}_mlflow"),
                FILES_URL_VARIABLE: f"s3://{self.store.bucket}/{name}_files/"}


@contextlib.contextmanager
def shared_servers(folder: Path | None = None, *, database: str = "lake", bucket: str = "lake",
                   password: str | None = None, access_key: str | None = None, secret_key: str | None = None) -> Iterator[SharedServers]:
    """PostgreSQL and SeaweedFS, both ready; stopped (and temporary folders deleted) on exit.

    With ``folder``, their data is kept in ``folder/postgres`` and ``folder/seaweedfs``, and the
    credentials made at the first start in ``folder/credentials.json`` (mode 0600) for the next.
    """
    if folder is not None:
        kept = _kept_credentials(folder / "credentials.json", password=password, access_key=access_key, secret_key=secret_key)
        password, access_key, secret_key = kept["password"], kept["access_key"], kept["secret_key"]
    with (
        postgres(folder / "postgres" if folder else None, database=database, password=password) as pg,
        seaweedfs(folder / "seaweedfs" if folder else None, bucket=bucket, access_key=access_key, secret_key=secret_key) as store,
    ):
        for database in SERVICE_DATABASES:
            pg.create_database(database)
        yield SharedServers(pg, store)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    os.chmod(path, 0o600)
    path.write_text(text)


def _kept_credentials(path: Path, **given: str | None) -> dict[str, str]:
    kept = json.loads(path.read_text()) if path.exists() else {}
    made = {"password": secrets.token_urlsafe(18), "access_key": "AK" + secrets.token_hex(8).upper(), "secret_key": secrets.token_urlsafe(24)}
    credentials = {key: given.get(key) or kept.get(key) or made[key] for key in made}
    if credentials != kept:
        _write_private(path, json.dumps(credentials))
    return credentials


def announce(servers: SharedServers, env_file: Path) -> dict[str, str]:
    """Write the servers' environment to ``env_file`` (mode 0600) and print it without its secrets."""
    env = servers.env()
    _write_private(env_file, "".join(f"{key}='{value}'\n" for key, value in env.items()))
    print("Shared-mode servers are up (loopback only):")
    for key, value in env.items():
        print(f"  {key}={'<in the env file>' if key in SECRET_VARIABLES else value}")
    print(f"Environment with credentials: {env_file} (mode 0600). `set -a; . {env_file}; set +a`.", flush=True)
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run PostgreSQL + SeaweedFS for the shared mode until Ctrl-C.")
    parser.add_argument("--folder", type=Path, help="keep the servers' data here (default: temporary, deleted at stop)")
    args = parser.parse_args(argv)
    env_file = (args.folder or Path(tempfile.mkdtemp(prefix="analytics-shared-"))) / "shared.env"
    with shared_servers(args.folder) as servers:
        announce(servers, env_file)
        print("Ctrl-C stops both.")
        stop = False

        def _stop(*_: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stop and servers.postgres.process.process.poll() is None and servers.store.process.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    env_file.unlink(missing_ok=True)
    if args.folder is None:
        env_file.parent.rmdir()


if __name__ == "__main__":
    main()
