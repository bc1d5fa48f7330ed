"""The one way reports write files: beside the final name, then renamed into place.

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
