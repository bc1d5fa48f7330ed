"""Landed files: which ones are ready, and one cheap pass that fingerprints each.

The fingerprint pass reads the bytes once and yields what later steps need without a parser:
the content hash (the ledger's key), the encoding, NUL bytes, and a record count that does not
depend on DuckDB's sniffer (so a misread file cannot reconcile by accident).
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

# Files still being written by their producer, or not data at all.
IN_FLIGHT_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".filepart", ".swp")
CHUNK = 8 << 20
C1_CONTROLS = re.compile(rb"[\x80-\x9f]")


def is_candidate(name: str) -> bool:
    return not (name.startswith((".", "_", "~")) or name.endswith(IN_FLIGHT_SUFFIXES))


@dataclass(frozen=True)
class LandedFile:
    path: Path  # where it is read: the landed file, or the local copy of a landed object
    relative: str  # POSIX path relative to the landing folder (or prefix): what contracts match
    size: int
    mtime_ns: int
    root: str = ""  # "": the landing folder; else the object-store prefix it came from (s3://bucket/landing/)

    @property
    def source(self) -> str:
        """Its name in the ledger, the cursor and ``_source_file``: unique across landing places."""
        return self.root + self.relative


def scan_landing(landing: Path, settle_seconds: float = 2.0) -> list[LandedFile]:
    """Files ready to ingest, in a stable order (oldest day first within a folder).

    A file is ready once it has not changed for ``settle_seconds``; producers that write in place
    are thereby not read half-written. Symlinks are not followed out of the landing folder.
    """
    landing = landing.resolve()
    if not landing.is_dir():
        return []
    now = time.time_ns()
    found: list[LandedFile] = []
    for root, dirs, names in os.walk(landing, followlinks=False):
        dirs[:] = sorted(d for d in dirs if is_candidate(d))
        for name in sorted(names):
            path = Path(root, name)
            if not is_candidate(name) or path.is_symlink() or not path.is_file():
                continue
            stat = path.stat()
            if now - stat.st_mtime_ns < settle_seconds * 1e9:
                continue
            found.append(LandedFile(path, path.relative_to(landing).as_posix(), stat.st_size, stat.st_mtime_ns))
    return found


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    size: int
    encoding: str | None  # "utf-8", "utf-16", "cp1252", "latin-1"; None: binary or undecodable
    has_bom: bool
    has_nul: bool
    has_quote: bool
    records: int  # non-blank lines (a record count when no field is quoted)
    header: bytes = b""  # the first line, raw: files with identical headers can be read together


def fingerprint(path: Path) -> Fingerprint:
    sha = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_ok, has_nul, has_quote, has_c1 = True, False, False, False
    newlines = blanks = size = 0
    previous = b""
    first = first_line = b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            if not first:
                first = chunk[:4]
                first_line = chunk.split(b"\n", 1)[0][:65536]
            sha.update(chunk)
            size += len(chunk)
            joined = previous + chunk  # blank lines may straddle a chunk boundary
            newlines += chunk.count(b"\n")
            blanks += joined.count(b"\n\n") + joined.count(b"\n\r\n") - (
                previous.count(b"\n\n") + previous.count(b"\n\r\n")
            )
            previous = chunk[-2:]
            has_nul = has_nul or b"\x00" in chunk
            has_quote = has_quote or b'"' in chunk
            if utf8_ok:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
            if not utf8_ok:
                has_c1 = has_c1 or bool(C1_CONTROLS.search(chunk))
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    unterminated = 1 if size and not previous.endswith(b"\n") else 0
    lines = newlines + unterminated
    leading_blank = 1 if first.startswith((b"\n", b"\r\n")) else 0
    encoding: str | None
    has_bom = first.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif has_nul:
        encoding = None
    elif utf8_ok:
        encoding = "utf-8"
    else:
        # Bytes 0x80-0x9F are printable in Windows-1252 (€, “, ”) but control codes in Latin-1.
        encoding = "cp1252" if has_c1 else "latin-1"
    return Fingerprint(
        sha256=sha.hexdigest(),
        size=size,
        encoding=encoding,
        has_bom=has_bom,
        has_nul=has_nul,
        has_quote=has_quote,
        records=lines - blanks - leading_blank,
        header=first_line,
    )
