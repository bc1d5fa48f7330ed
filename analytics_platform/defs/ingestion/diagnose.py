"""Why a file could not be read, in words a person can act on: the line, and the real cause.

DuckDB's errors name the symptom ("CSV Error on Line: 4", "Could not convert string …"); these
helpers find the cause with Python's own decoders and CSV parser, independent of DuckDB.
"""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path

import duckdb

MAX_BYTES = 16 << 20  # enough to name an encoding, bounded for huge files
# Legacy encodings worth naming when a file is not UTF-8 (tried in this order, strictly).
LEGACY_ENCODINGS = ("cp1252", "shift_jis", "euc_jp", "gb18030", "big5", "euc_kr", "cp1251")
CUT = re.compile(r"\n\s*\n|\nPossible fixes|\nLINE \d+:|\n\s+file = ")


def error_text(error: BaseException | str, limit: int = 600) -> str:
    """A DuckDB error as one line, in full up to its hints: line breaks inside a quoted value stay
    visible as \\r \\n instead of cutting the message there."""
    text = CUT.split(str(error).strip(), maxsplit=1)[0]
    text = text.replace("\r", "\\r").replace("\n", " | ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def not_utf8(path: Path) -> str:
    """Where a file stops being UTF-8 and which legacy encodings decode it, as a sentence."""
    data = path.read_bytes()[:MAX_BYTES]
    try:
        data.decode("utf-8")
        return "The file is UTF-8."
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        bad = data[error.start : error.start + 2].hex(" ")
    fits = []
    for name in LEGACY_ENCODINGS:
        try:
            data.decode(name)
        except UnicodeDecodeError:
            continue
        fits.append(codecs.lookup(name).name)
    guess = (f"it decodes without error as {', '.join(fits[:3])}" if fits else "no common legacy encoding decodes it either")
    return (f"The file is not UTF-8: line {line} holds the bytes {bad}, which are not UTF-8; {guess}. "
            "Save it as UTF-8 and drop it again.")


def ragged_line(path: Path, encoding: str, delimiter: str, quote: str | None, skip: int = 0,
                comment: str | None = None) -> tuple[int, int, int, str] | None:
    """(line, fields, expected, text) of the first record whose number of fields differs from the
    first record's (the header's), read with Python's CSV parser; None if all agree."""
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        for _ in range(skip):
            handle.readline()
        reader = csv.reader(handle, delimiter=delimiter, quotechar=quote or '"', quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE)
        expected, start = None, skip + 1
        for record in reader:
            line, start = start, skip + reader.line_num + 1
            if not record or (comment and record[0].startswith(comment)):
                continue
            if expected is None:
                expected = len(record)
            elif len(record) != expected:
                text = delimiter.join(record)
                return line, len(record), expected, text if len(text) <= 120 else text[:119] + "…"
    return None


def ragged_text(found: tuple[int, int, int, str]) -> str:
    line, fields, expected, text = found
    return (f"line {line} has {fields} field(s) where the header (first line) has {expected}: {text!r}. "
            "Every line needs as many fields as the header")


def misfit_column(con: duckdb.DuckDBPyConnection, staged: str, table: str) -> str | None:
    """Which staged column does not convert to the existing table's column of that name, with the
    first record (1 = the first after the header) and value that does not."""
    have = {r[0].lower(): r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    for name, dtype, *_ in con.execute(f"DESCRIBE {staged}").fetchall():
        target = have.get(name.lower())
        if target is None or target == dtype:
            continue
        q = '"' + name.replace('"', '""') + '"'
        row = con.execute(
            f"SELECT n, v FROM (SELECT row_number() OVER () AS n, {q}::VARCHAR AS v, TRY_CAST({q} AS {target}) AS c FROM {staged}) "
            "WHERE v IS NOT NULL AND c IS NULL ORDER BY n LIMIT 1"
        ).fetchone()
        if row:
            return (f"column {name!r} is {dtype} here but {target} in the table (from earlier files of this series): "
                    f"record {row[0]}'s value {row[1]!r} is not a {target}")
    return None
