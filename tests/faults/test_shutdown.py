"""`up` stops on SIGTERM however it was started.

A script that starts `up` in the background (`nohup … &`, a CI step, some service managers) hands
it SIGINT ignored; exec keeps that, and `dagster dev` maps SIGTERM onto SIGINT's handler, so the
real `dagster dev` used to ignore SIGTERM as well and kept the UI, daemon and code servers
running (the benchmark's shutdown found them all still there after 90 s).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from tests.faults import helpers
from tests.ui.conftest import free_port

_UP = """
import sys
from analytics_platform import cli
cli._ensure_sample_data = lambda *a, **k: None  # nothing to ingest: this is about the processes
cli._prepare_dbt = lambda *a, **k: None  # the suite's manifest; never the project's target here
cli.main(["up", "--port", sys.argv[1]])
"""


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `nohup … &` in a script does


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_started_in_the_background_stops_on_sigterm(temp_platform):
    port = free_port()
    log = open(temp_platform.root / "up.log", "w+b")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-c", _UP, str(port)], cwd=helpers.PROJECT_ROOT, env=temp_platform.env(),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_ignore_sigint)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                raise AssertionError(f"`up` exited early:\n{log.read().decode(errors='replace')[-3000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(1)
        else:
            raise AssertionError("the UI never answered")
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError("`dagster dev` ignored SIGTERM") from None
        deadline = time.monotonic() + 30  # webserver, daemon and code servers follow it down
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _group_alive(proc.pid), "processes of `up` outlived it"
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        log.close()
