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


def test_two_dbt_processes_take_turns_and_a_killed_one_frees_the_lock(shared_env, tmp_path):
    """On the shared warehouse dbt builds take turns through an advisory lock on the catalog
    database: the second says whose build it waits for; a holder killed with -9 frees it (the
    server ends its session), so nothing jams. Other writers take no lock (tested above)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from analytics_platform import warehouse_lock
    from analytics_platform.settings import PROJECT_ROOT, load_settings

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from analytics_platform import warehouse_lock\n"
        "from analytics_platform.settings import load_settings\n"
        "held = warehouse_lock.acquire_for_dbt(load_settings(), False, 'a dbt started outside the platform', print)\n"
        "print('HELD', flush=True)\n"
        "time.sleep(600)\n")], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    try:
        assert holder.stdout.readline().strip() == "HELD"
        said: list[str] = []
        waited = {}

        def kill_soon(message: str) -> None:
            said.append(message)
            if "busy" in message:
                waited["at"] = time.monotonic()
                os.kill(holder.pid, signal.SIGKILL)

        held = warehouse_lock.acquire_for_dbt(load_settings(), True, "the platform (run test)", kill_soon)
        assert held is not None and "at" in waited, "the second dbt did not wait for the first"
        assert f"held by a dbt started outside the platform, pid {holder.pid}" in said[0], said
        assert said[-1] == "The warehouse is free: going on."
        assert time.monotonic() - waited["at"] < 20, "a killed holder's lock was not freed at once"
        assert all(secret not in " ".join(said) for secret in (shared_env["PGPASSWORD"],))
        held.close()
    finally:
        holder.kill()
        holder.wait(10)
