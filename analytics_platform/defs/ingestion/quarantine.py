"""Moving a rejected file out of the landing folder, with its reason beside it."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from analytics_platform.defs.ingestion.files import LandedFile
from analytics_platform.defs.ingestion.objects import put
from analytics_platform.defs.ingestion.readers import Rejected
from analytics_platform.files import write_atomically
from analytics_platform.settings import quarantine_beside
from analytics_platform.warehouse import transaction


def quarantine_file(
    con: duckdb.DuckDBPyConnection,
    file: LandedFile,
    file_hash: str,
    target: str | None,
    rejected: Rejected,
    quarantine_dir: Path,
    run_id: str,
) -> dict[str, Any]:
    """Record the rejection, then move the file. A crash in between re-quarantines on the next
    run (the record is replaced, not duplicated), so no file is ever lost or loaded half. An
    object from a landing prefix is copied to the quarantine prefix beside it (``objects.py``)."""
    relative_dir = Path(file.relative).parent
    name = f"{file_hash[:12]}__{file.path.name}"
    if file.root:
        destination: Path | str = quarantine_beside(file.root) + (f"{relative_dir.as_posix()}/" if relative_dir.parts else "") + name
    else:
        destination = quarantine_dir / relative_dir / name
        # The landing folder was walked without following links, so relative paths stay inside it;
        # this guards the quarantine side too.
        if not destination.resolve().is_relative_to(quarantine_dir.resolve()):
            raise ValueError(f"refusing to quarantine outside {quarantine_dir}: {destination}")
    now = datetime.now(UTC).replace(tzinfo=None)
    record = {
        "source_file": file.source,
        "file_hash": file_hash,
        "target_table": target,
        "reason_code": rejected.code,
        "reason": rejected.message,
        "details": rejected.details,
        "quarantine_path": str(destination),
        "run_id": run_id,
        "quarantined_at": now.isoformat(),
    }

    def write(c: duckdb.DuckDBPyConnection) -> None:
        c.execute("DELETE FROM meta.quarantine WHERE file_hash = ? AND source_file = ?", [file_hash, file.source])
        c.execute(
            "INSERT INTO meta.quarantine (file_hash, source_file, target_table, reason_code, reason, details, quarantine_path, "
            "run_id, quarantined_at, size_bytes, mtime_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [file_hash, file.source, target, rejected.code, rejected.message,
             json.dumps(rejected.details, default=str), str(destination), run_id, now, file.size, file.mtime_ns],
        )

    transaction(con, write)
    reason_json = json.dumps(record, indent=2, default=str)
    reason_txt = (f"{file.source} was quarantined on {now:%Y-%m-%d %H:%M:%S} UTC.\n\n"
                  f"Why: {rejected.message}\n\nFix the file and drop it into the landing "
                  f"{'prefix' if file.root else 'folder'} again; it will be loaded as a new file.\n")
    if isinstance(destination, str):
        put(con, destination, file.path.read_bytes())
        put(con, f"{destination}.reason.json", reason_json.encode())
        put(con, f"{destination}.reason.txt", reason_txt.encode())
        return record
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(file.path, destination)
    write_atomically(Path(f"{destination}.reason.json"), reason_json)
    write_atomically(Path(f"{destination}.reason.txt"), reason_txt)
    os.utime(destination)  # quarantine time, not the producer's
    return record
