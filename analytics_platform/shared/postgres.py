"""A real PostgreSQL server from Debian's ``postgresql`` package, for the DuckLake catalog.

``initdb`` into a folder, then ``postgres`` listening on 127.0.0.1 only (a free port, no Unix
socket), password authentication (scram-sha-256) for every connection, one database for the
catalog. PostgreSQL refuses to run as root: as root, the folder is handed to the ``postgres``
system user that the Debian package creates, and both programs run as that user. A temporary
folder (the default) is deleted at stop and the server runs without fsync: it dies with its
folder anyway; a given folder is kept, durable, and reused by the next start.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from analytics_platform.shared.processes import LOOPBACK, ServerError, ServerProcess, free_port, mask, start
from analytics_platform.warehouse import quote_ident, quote_literal

SYSTEM_USER = "postgres"  # created by Debian's postgresql package


def bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` (Debian), else the folder of ``initdb`` on PATH."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                      if p.parent.parent.name.isdigit() else 0)
    if versions:
        return versions[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise ServerError("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb and no initdb on PATH "
                      "(Debian: apt-get install postgresql; .ci/run does it)")


@dataclass
class Postgres:
    """A running server. ``password`` is left out of ``repr``."""

    host: str
    port: int
    user: str
    database: str
    folder: Path
    process: ServerProcess
    password: str = field(repr=False)
    run_as: str | None = None  # the system user it runs as (we are root)

    @property
    def url(self) -> str:
        """The catalog URL for ``ANALYTICS_CATALOG_URL`` (no password: that goes in ``PGPASSWORD``)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    def client_env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "5"}

    def psql(self, sql: str, database: str | None = None) -> str:
        """Run ``sql`` with ``psql`` (tab-separated rows, no header), for checks and tests."""
        result = subprocess.run(
            [str(bin_dir() / "psql"), "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", database or self.database,
             "-w", "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=self.client_env(), timeout=60,
        )
        if result.returncode != 0:
            raise ServerError(f"psql on {self.url} failed: {mask(result.stderr.strip(), [self.password])}")
        return result.stdout

    def create_database(self, name: str) -> None:
        """Create database ``name`` unless it exists."""
        # PostgreSQL quotes literals and identifiers as DuckDB does
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(name)}", "postgres").strip():
            self.psql(f"CREATE DATABASE {quote_ident(name)}", "postgres")

    def is_ready(self) -> bool:
        result = subprocess.run([str(bin_dir() / "pg_isready"), "-h", self.host, "-p", str(self.port), "-t", "2"],
                                stdin=subprocess.DEVNULL, capture_output=True)
        return result.returncode == 0

    def stop(self) -> None:
        self.process.stop(signal.SIGINT)  # PostgreSQL's "fast" shutdown: roll back, then exit cleanly

    def restart(self, timeout: float = 60) -> None:
        """Stop, then start again on the same folder and port (what clients see of a server restart)."""
        command = [str(arg) for arg in self.process.process.args]
        self.stop()
        self.process = start("PostgreSQL", command, self.folder / "postgres.log", user=self.run_as, secrets=(self.password,))
        self.process.wait_until(self.is_ready, timeout, f"accepting connections on {self.host}:{self.port} again")


def _run_as(user: str | None, command: list[str], what: str, secrets_: tuple[str, ...]) -> None:
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                            **({"user": user, "group": user, "extra_groups": []} if user else {}))
    if result.returncode != 0:
        output = mask((result.stdout + result.stderr).strip(), secrets_)
        raise ServerError(f"PostgreSQL {what} failed (exit {result.returncode}): {output[-2000:]}")


def _init(bin_: Path, data: Path, user: str, password: str, run_as: str | None, durable: bool) -> None:
    pwfile = data.parent / ".pwfile"
    pwfile.write_text(password + "\n")
    os.chmod(pwfile, 0o600)
    if run_as:
        shutil.chown(pwfile, run_as, run_as)
    try:
        _run_as(run_as, [str(bin_ / "initdb"), "-D", str(data), "-U", user, f"--pwfile={pwfile}", "-A", "scram-sha-256",
                         "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions", *([] if durable else ["--no-sync"])],
                "initdb", (password,))
    finally:
        pwfile.unlink(missing_ok=True)


def _own_folder(folder: Path | None) -> tuple[Path, str | None, bool]:
    """(folder, user to run as, temporary?). As root the folder belongs to the ``postgres`` user,
    and a temporary one sits directly in the system temp folder, which that user can reach."""
    run_as = SYSTEM_USER if os.geteuid() == 0 else None
    temporary = folder is None
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="analytics-postgres-"))
    folder.mkdir(parents=True, exist_ok=True)
    if run_as:
        closed = next((p for p in folder.resolve().parents if not os.stat(p).st_mode & 0o001), None)
        if closed is not None:  # permissions of the user's folders are not ours to change
            raise ServerError(f"PostgreSQL runs as the {SYSTEM_USER!r} user here (we are root), which cannot reach {folder}: "
                              f"{closed} is not searchable by other users. Keep the state elsewhere (ANALYTICS_STATE_DIR).")
        shutil.chown(folder, run_as, run_as)
    return folder, run_as, temporary


@contextlib.contextmanager
def postgres(folder: Path | None = None, *, database: str = "lake", user: str = "lake", password: str | None = None,
             port: int | None = None, timeout: float = 60) -> Iterator[Postgres]:
    """Start PostgreSQL, yield it once it accepts connections and ``database`` exists, stop it after.

    ``folder`` None: a temporary folder, deleted at stop. A given folder keeps the cluster, and
    then ``password`` must be the one it was created with (it is stored in ``folder``'s cluster
    only as a hash). Without ``password`` a random one is made.
    """
    bin_ = bin_dir()
    folder, run_as, temporary = _own_folder(folder)
    password = password or secrets.token_urlsafe(18)
    data = folder / "data"
    server: Postgres | None = None
    try:
        if not (data / "PG_VERSION").exists():
            _init(bin_, data, user, password, run_as, durable=not temporary)
        port = port or free_port()
        options = ["-c", f"listen_addresses={LOOPBACK}", "-c", "unix_socket_directories=", "-c", "max_connections=200"]
        if temporary:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        process = start("PostgreSQL", [str(bin_ / "postgres"), "-D", str(data), "-p", str(port), *options],
                        folder / "postgres.log", user=run_as, secrets=(password,))
        server = Postgres(LOOPBACK, port, user, database, folder, process, password, run_as)
        process.wait_until(server.is_ready, timeout, f"accepting connections on {LOOPBACK}:{port}")
        server.create_database(database)
        yield server
    finally:
        if server is not None:
            server.stop()
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
