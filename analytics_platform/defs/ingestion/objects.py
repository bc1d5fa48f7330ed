"""Landing on object storage (shared mode): an ``s3://bucket/landing/`` prefix beside the landing folder.

Set by ``ANALYTICS_LANDING_URL`` (``settings.landing_url``). Listing, reading and writing go
through DuckDB's httpfs with the warehouse's S3 secret: no second client, no second credential.

- **Complete objects only.** S3 lists an object once its PUT or multipart upload has completed
  (parts of an upload in progress are not objects), so nothing is read half-uploaded. An object
  re-written within the settle time waits, like a local file still changing; temp and hidden names
  (``*.part``, ``_x``, ``.x``, see ``files.is_candidate``) are ignored in every path segment, and so
  are names DuckDB would read as a glob pattern (``*?[]{}``) or holding control characters.
- **Exactly once.** A run copies the objects it is given into a temporary folder of its own
  worker (nothing on a shared disk) and hands the copies to the loader. The object's URL is the
  file's name (``LandedFile.source``) in the cursor, the ledger and ``_source_file``; the ledger
  deduplicates by content hash as for local files.
- **Quarantine beside landing.** A rejected object is copied with ``.reason.json`` and
  ``.reason.txt`` to ``s3://bucket/quarantine/`` (``settings.object_quarantine_url``). The object
  itself stays: httpfs cannot delete, and a producer's landing prefix is often read-only to its
  readers. ``meta.quarantine`` keeps the rejected version's size and time, so that version is not
  read again; a corrected upload is a new version and is loaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from analytics_platform import warehouse
from analytics_platform.defs.ingestion import ledger
from analytics_platform.defs.ingestion.files import LandedFile, is_candidate, scan_landing
from analytics_platform.settings import Settings
from analytics_platform.warehouse import quote_literal

UNREADABLE_NAME = re.compile(r"[*?\[\]{}\\\x00-\x1f\x7f]")
FETCH_BYTES = 64 << 20  # object bytes read per query when copying a run's objects


def store_connection(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with httpfs and the warehouse's S3 secret, no lake attached (the sensor's)."""
    con = duckdb.connect(config={"extension_directory": warehouse.extension_directory()})
    warehouse.prepare(con, settings)
    return con


def _readable(relative: str) -> bool:
    return not UNREADABLE_NAME.search(relative) and all(is_candidate(part) for part in relative.split("/"))


def scan_objects(con: duckdb.DuckDBPyConnection, landing_url: str, settle_seconds: float = 2.0) -> list[LandedFile]:
    """Objects under ``landing_url`` ready to ingest, by name. Their ``path`` is the relative name
    until :func:`fetched` copies them."""
    rows = con.execute("SELECT filename, size, epoch_us(last_modified) FROM read_blob(?) ORDER BY filename",
                       [f"{landing_url}**"]).fetchall()
    # S3 gives times in whole seconds (rounded down): an object is as young as the end of its second.
    now_us = time.time() * 1e6 - 1e6
    found = []
    for url, size, modified_us in rows:
        relative = url.removeprefix(landing_url)
        if url.startswith(landing_url) and _readable(relative) and now_us - modified_us >= settle_seconds * 1e6:
            found.append(LandedFile(Path(relative), relative, int(size), int(modified_us) * 1000, root=landing_url))
    return found


def landed(settings: Settings, settle_seconds: float, con: duckdb.DuckDBPyConnection | None = None) -> list[LandedFile]:
    """Every landed file ready to ingest: the landing folder's, then the landing prefix's (when set)."""
    files = scan_landing(settings.landing_dir, settle_seconds)
    if settings.landing_url:
        with contextlib.closing(store_connection(settings)) if con is None else contextlib.nullcontext(con) as store:
            files += scan_objects(store, settings.landing_url, settle_seconds)
    return files


@contextlib.contextmanager
def fetched(con: duckdb.DuckDBPyConnection, files: list[LandedFile], settings: Settings) -> Iterator[list[LandedFile]]:
    """``files`` with each object replaced by a local copy in a temporary folder (deleted after);
    objects whose listed version was already loaded or quarantined are left out (not read)."""
    remote = [f for f in files if f.root]
    if not remote:
        yield files
        return
    ledger.ensure_schema(con)
    handled = warehouse.with_retry(lambda: ledger.handled_stats(con), what="reading the ledger")
    remote = [f for f in remote if (f.source, f.size, f.mtime_ns) not in handled]
    settings.duckdb_temp_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="landing-objects-", dir=settings.duckdb_temp_dir.parent) as folder:
        copies = _copy(con, remote, Path(folder))
        yield [f for f in files if not f.root] + copies


def _copy(con: duckdb.DuckDBPyConnection, objects: list[LandedFile], folder: Path) -> list[LandedFile]:
    groups: list[list[LandedFile]] = [[]]
    size = 0
    for obj in objects:
        if groups[-1] and size + obj.size > FETCH_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(obj)
        size += obj.size
    copies = []
    for group in groups:
        if not group:
            continue
        by_url = {f.source: f for f in group}
        # The size and time read with the bytes: an object re-written since it was listed is
        # taken as it is now, under its new stamp (the ledger's hash decides whether it is new).
        rows = con.execute("SELECT filename, content, size, epoch_us(last_modified) FROM read_blob(?)", [list(by_url)]).fetchall()
        for url, content, size, modified_us in rows:
            obj = by_url[url]
            local = folder / str(len(copies)) / obj.relative.rsplit("/", 1)[-1]
            local.parent.mkdir(parents=True)
            local.write_bytes(content)
            copies.append(dataclasses.replace(obj, path=local, size=int(size), mtime_ns=int(modified_us) * 1000))
    return sorted(copies, key=lambda f: f.source)


def put(con: duckdb.DuckDBPyConnection, url: str, content: bytes) -> None:
    """Write ``content`` as the object ``url`` (one PUT: readers see all of it or none)."""
    con.execute(f"COPY (SELECT ?::BLOB) TO {quote_literal(url)} (FORMAT blob)", [content])
