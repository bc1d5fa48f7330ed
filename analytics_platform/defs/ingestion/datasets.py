"""Which table an uncontracted file lands in: one table per *series* of files, not per folder.

A folder often holds files that do not belong together (`orders_2024-01-01.csv`,
`orders_2024-01-02.csv` and `weather.csv`). Files belong to one series when their names differ
only by dates, times or sequence numbers (leading or trailing: `2024-01-01_orders`, `orders-0001`,
`orders_part_3`, `day1`…`day2`). The series of a folder's own name (words of the folder's name: `tips/tips.csv`,
`mpl_stocks/Stocks.csv`), of a generic name (`data`, `part`, `export`…) or of names that are only
a date or number is the folder's dataset, `uncontracted.<folder>`; any other series gets
`uncontracted.<folder>__<series>`. The name depends on the file's path alone, never on its
neighbours, so a file always lands where earlier files of its series did. Names are cleaned to
`[a-z0-9_]` and quoted wherever they are used.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

MAX_LENGTH = 60
GENERIC_STEMS = {"data", "part", "export", "extract", "file", "dataset", "output", "download", "dump", "table"}
SERIES_TOKEN = re.compile(r"\d+|\d+t\d+z?|t\d+|v?\d+of\d+|part|chunk|batch|page|p\d+|n\d+")


def clean(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def series(stem: str) -> str:
    """The file name without its leading and trailing dates, times and sequence numbers."""
    tokens = [t for t in clean(stem).split("_") if t]
    if tokens and re.fullmatch(r"[a-z]{2,}\d+", tokens[-1]):  # day1, day2: one series `day`
        tokens[-1] = re.sub(r"\d+$", "", tokens[-1])
    while tokens and SERIES_TOKEN.fullmatch(tokens[-1]):
        tokens.pop()
    while tokens and SERIES_TOKEN.fullmatch(tokens[0]):
        tokens.pop(0)
    return "_".join(tokens)


def dataset_name(relative: str) -> str:
    """A safe table name for the uncontracted file at ``relative`` (see the module docstring):
    `weather/daily/2024-01-01.csv` → `weather__daily`, `shop/weather.csv` → `shop__weather`,
    `sales_2024-01.csv` (top level) → `sales`."""
    path = PurePosixPath(relative)
    folders = [c for c in (clean(p) for p in path.parent.parts) if c]
    stem = series(path.stem)
    if not folders:
        parts = [stem or clean(path.stem)]
    elif not stem or stem in GENERIC_STEMS or set(stem.split("_")) <= set(folders[-1].split("_")):
        parts = folders
    else:
        parts = [*folders, stem]
    name = "__".join(p for p in parts if p)
    name = name if name and name[0].isalpha() else f"d_{name}"
    if len(name) > MAX_LENGTH:  # long names stay distinct
        name = f"{name[: MAX_LENGTH - 9]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return name
