"""Four writer processes at once on one shared DuckLake: appends to one table and tables of
their own, through the platform's transaction/retry code. No errors, exact row counts."""

import subprocess
import sys
import time

from analytics_platform import warehouse
from analytics_platform.settings import load_settings

WRITERS, COMMITS, ROWS = 4, 8, 250

WRITER = """
import sys, time
from analytics_platform import warehouse
writer, commits, rows, start = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
con = warehouse.connect()
time.sleep(max(0.0, start - time.time()))  # all writers begin together
own = warehouse.quote_ident(f"writer_{writer}")
warehouse.transaction(con, lambda c: c.execute(f"CREATE TABLE {own} (batch INTEGER, n INTEGER)"))
for batch in range(commits):
    warehouse.transaction(con, lambda c: c.execute("INSERT INTO appended SELECT ?, ?, range FROM range(?)", [writer, batch, rows]))
    warehouse.transaction(con, lambda c: c.execute(f"INSERT INTO {own} SELECT ?, range FROM range(?)", [batch, rows]))
"""


def test_four_writers_append_and_create_side_by_side(shared_env):
    settings = load_settings()
    with warehouse.session(settings) as con:
        con.execute("CREATE TABLE appended (writer INTEGER, batch INTEGER, n INTEGER)")
    start = time.time() + 4  # after the writers' imports and attaches
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(i), str(COMMITS), str(ROWS), str(start)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(WRITERS)]
    outcomes = [(w.wait(120), w.communicate()[1]) for w in writers]
    assert [code for code, _ in outcomes] == [0] * WRITERS, [err[-2000:] for _, err in outcomes]

    with warehouse.session(settings, read_only=True) as con:
        per_writer = con.execute("SELECT writer, count(*), count(DISTINCT (batch, n)) FROM appended GROUP BY 1 ORDER BY 1").fetchall()
        assert per_writer == [(i, COMMITS * ROWS, COMMITS * ROWS) for i in range(WRITERS)]
        for i in range(WRITERS):
            assert con.execute(f'SELECT count(*), count(DISTINCT batch) FROM "writer_{i}"').fetchall() == [(COMMITS * ROWS, COMMITS)]
