"""Who may write to the embedded warehouse now: the platform's writers, or an engineer's own dbt.

Two transactions that overlap on the SQLite catalog cannot both commit (docs/architecture.md,
"The warehouse and concurrency"): the platform keeps its own writers apart with the ``warehouse``
pool, but an engineer's ``dbt build`` in a shell holds no pool slot (measured beside a platform
run: it hung 63 s at COMMIT, then failed with "cannot commit - no transaction is active").

So writers also take a file lock, ``<warehouse>/writer.lock`` (``flock``; the kernel frees it
when a holder dies, killed or not): the platform's writing steps and the dbt they start take it
*shared* (they are already kept apart by the pool, and a step's dbt child must not wait for its
own step); a dbt started outside the platform takes it *exclusive*, for its whole process. The
one that comes second says whom it waits for, waits its turn (up to ``ANALYTICS_WRITER_LOCK_TIMEOUT``
seconds, default 1800), then goes on. Readers never take it.

The shared warehouse (PostgreSQL catalog) commits concurrent writers, except two that rebuild the
same table (measured: 71 of 120 ``CREATE OR REPLACE`` of one table from 4 processes failed). Its
writers run side by side (per-concern pools); only dbt processes, the platform's and an engineer's,
which rebuild the same models, take turns: each holds a PostgreSQL advisory lock on the catalog
database for its whole process (:func:`acquire_for_dbt`), which the server frees when the holder's
connection ends, killed or not, on any machine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from analytics_platform.settings import Settings

TIMEOUT_VARIABLE = "ANALYTICS_WRITER_LOCK_TIMEOUT"
POLL_SECONDS = 0.2
# pg_advisory_lock(classid, objid) of the dbt lock in the catalog database: "an" + "dbt" in ASCII.
ADVISORY_KEY = (0x616E, 0x646274)
APPLICATION_PREFIX = "dbt lock: "  # + who holds it: PostgreSQL keeps 63 bytes of a name


class WriterLockTimeout(RuntimeError):
    """The warehouse stayed held by another writer longer than this one was willing to wait."""


def lock_path(settings: Settings) -> Path:
    return settings.warehouse_dir / "writer.lock"


def _records(settings: Settings) -> Path:
    """One ``<pid>.json`` per holder: who it is, its command, since when."""
    return settings.warehouse_dir / "writer.d"


def _holder_pids(path: Path) -> list[int]:
    """Processes holding a ``flock`` on ``path``, from the kernel's lock table."""
    try:
        inode = os.stat(path).st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    pids = []
    for line in lines:
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
            pids.append(int(fields[4]))
    return sorted(set(pids))


def _describe_pid(folder: Path, pid: int) -> str:
    with contextlib.suppress(OSError, ValueError, KeyError):
        info = json.loads((folder / f"{pid}.json").read_text())
        return f"{info['who']}: pid {pid}, `{info['command']}`, since {info['since']}"
    with contextlib.suppress(OSError):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        return f"pid {pid} (`{command[:160]}`)"
    return f"pid {pid}"


def holders(settings: Settings) -> str:
    """Who holds the lock now, in words (for the message of a writer that waits)."""
    path = lock_path(settings)
    described = [_describe_pid(_records(settings), pid) for pid in _holder_pids(path)]
    return " and ".join(described) or "a writer that has just finished"


def _record(folder: Path, who: str) -> None:
    """Who holds the lock, for the message of a writer that waits (best effort: a full disk must
    not fail the write that would report it)."""
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else "python"
    info = {"who": who, "command": command[:300], "since": dt.datetime.now().isoformat(timespec="seconds")}
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{os.getpid()}.json").write_text(json.dumps(info))


def _wait(take: Callable[[], bool], held_by: Callable[[], str], what: str, say: Callable[[str], None]) -> None:
    """Call ``take`` until it succeeds, saying once whom it waits for; give up after the timeout."""
    timeout = float(os.environ.get(TIMEOUT_VARIABLE) or 1800)
    deadline, told = time.monotonic() + timeout, False
    while not take():
        if time.monotonic() > deadline:
            raise WriterLockTimeout(f"The warehouse is still held by {held_by()} after {timeout:.0f} s "
                                    f"({TIMEOUT_VARIABLE}); try again when it has finished.")
        if not told:
            say(f"The warehouse is busy: held by {held_by()}. {what}; waiting for it (up to {timeout:.0f} s, {TIMEOUT_VARIABLE}) ...")
            told = True
        time.sleep(POLL_SECONDS)
    if told:
        say("The warehouse is free: going on.")


def acquire(settings: Settings, exclusive: bool, who: str, say: Callable[[str], None]) -> int | None:
    """Take the embedded warehouse's lock (``None`` on the shared warehouse): the open file
    descriptor; closing it releases."""
    if settings.shared:
        return None
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH

    def take() -> bool:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    try:
        _wait(take, lambda: holders(settings), "The embedded warehouse takes one writer at a time", say)
    except BaseException:
        os.close(fd)
        raise
    _record(_records(settings), who)
    return fd


def acquire_for_dbt(settings: Settings, under_platform: bool, who: str, say: Callable[[str], None]) -> object:
    """What a dbt process holds until it exits: embedded, the file lock (shared under the
    platform, exclusive by hand); shared, the advisory lock on the catalog database (an open
    PostgreSQL connection; every dbt exclusive, as two builds replace the same tables)."""
    if not settings.shared:
        return acquire(settings, exclusive=not under_platform, who=who, say=say)
    import psycopg2

    name = f"{APPLICATION_PREFIX}{who}, pid {os.getpid()}"
    if len(name) + len(os.uname().nodename) + 4 <= 63:
        name += f" on {os.uname().nodename}"
    # The password comes from PGPASSWORD (libpq), as for DuckDB's postgres extension.
    con = psycopg2.connect(settings.shared.catalog_dsn, application_name=name, connect_timeout=10)
    con.autocommit = True

    def take() -> bool:
        with con.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", ADVISORY_KEY)
            return bool(cur.fetchone()[0])

    def held_by() -> str:
        with con.cursor() as cur:
            cur.execute("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s", ADVISORY_KEY)
            names = [row[0].removeprefix(APPLICATION_PREFIX) for row in cur.fetchall()]
        return " and ".join(names) or "a dbt that has just finished"

    try:
        _wait(take, held_by, "On the shared warehouse one dbt builds at a time (two would replace the same tables)", say)
    except BaseException:
        con.close()
        raise
    return con


def release(settings: Settings, fd: int | None) -> None:
    if fd is None:
        return
    with contextlib.suppress(OSError):
        (_records(settings) / f"{os.getpid()}.json").unlink()
    os.close(fd)


@contextlib.contextmanager
def platform_writer(settings: Settings, say: Callable[[str], None]) -> Iterator[None]:
    """Held (shared) around a platform step's writes: waits while an engineer's dbt builds."""
    fd = acquire(settings, exclusive=False, who="the platform", say=say)
    try:
        yield
    finally:
        release(settings, fd)
