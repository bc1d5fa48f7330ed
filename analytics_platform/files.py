"""The one way reports write files: beside the final name, then renamed into place.

Where reports go is ``reports_root``: ``<reports_dir>`` (embedded), or in shared mode
``<ANALYTICS_FILES_URL>reports/`` on the object store, which every machine reaches (a local
folder would tie the reports to the machine that ran the step); ``publish`` writes either.

A reader (a browser, a notebook, a copy into the contracts folder) sees the previous file or the
new one, never half of one; a failed write leaves the previous file as it was. The temporary name
is unique per write, so two runs writing the same report do not clobber each other's halves, and
it starts with a dot so folder listings and globs skip it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analytics_platform.settings import Settings


@contextmanager
def replaced_atomically(path: Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path`` for the caller (or DuckDB's ``COPY``) to write;
    renames it to ``path`` when the block succeeds, deletes it when it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through ``replaced_atomically``."""
    with replaced_atomically(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return path


def reports_root(settings: Settings) -> Path | str:
    """The reports' folder, or in shared mode their ``s3://…/reports/`` prefix."""
    return settings.reports_dir if settings.shared is None else settings.shared.files_url + "reports/"


def publish(settings: Settings, relative: str, text: str, content_type: str = "text/html; charset=utf-8") -> tuple[str, int]:
    """Write a report (``relative`` to ``reports_root``) whole; its location and size in bytes."""
    root = reports_root(settings)
    if isinstance(root, Path):
        path = write_atomically(root / relative, text)
        return str(path), path.stat().st_size
    from analytics_platform import object_store

    return root + relative, object_store.put(settings.shared, root + relative, text.encode("utf-8"), content_type)
