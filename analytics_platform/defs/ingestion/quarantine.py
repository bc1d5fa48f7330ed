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
from analytics_platform.defs.ingestion.readers import Rejected
from analytics_platform.files import write_atomically
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
    run (the record is replaced, not duplicated), so no file is ever lost or loaded half."""
    relative_dir = Path(file.relative).parent
    destination = quarantine_dir / relative_dir / f"{file_hash[:12]}__{file.path.name}"
    # The landing folder was walked without following links, so relative paths stay inside it;
    # this guards the quarantine side too.
    if not destination.resolve().is_relative_to(quarantine_dir.resolve()):
        raise ValueError(f"refusing to quarantine outside {quarantine_dir}: {destination}")
    now = datetime.now(UTC).replace(tzinfo=None)
    record = {
        "source_file": file.relative,
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
        c.execute("DELETE FROM meta.quarantine WHERE file_hash = ? AND source_file = ?", [file_hash, file.relative])
        c.execute(
            "INSERT INTO meta.quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [file_hash, file.relative, target, rejected.code, rejected.message,
             json.dumps(rejected.details, default=str), str(destination), run_id, now],
        )

    transaction(con, write)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(file.path, destination)
    write_atomically(Path(f"{destination}.reason.json"), json.dumps(record, indent=2, default=str))
    write_atomically(
        Path(f"{destination}.reason.txt"),
        f"{file.relative} was quarantined on {now:%Y-%m-%d %H:%M:%S} UTC.\n\n"
        f"Why: {rejected.message}\n\nFix the file and drop it into the landing folder again; "
        f"it will be loaded as a new file.\n"
    )
    os.utime(destination)  # quarantine time, not the producer's
    return record
