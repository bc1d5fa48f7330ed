"""`up` stops on SIGTERM however it was started.

A script that starts `up` in the background (`nohup … &`, a CI step, some service managers) hands
it SIGINT ignored; exec keeps that, and `dagster dev` maps SIGTERM onto SIGINT's handler, so the
real `dagster dev` used to ignore SIGTERM as well and kept the UI, daemon and code servers
running (the benchmark's shutdown found them all still there after 90 s).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request

from tests.faults import processes
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


def test_up_started_in_the_background_stops_on_sigterm(temp_platform):
    port = free_port()
    proc = temp_platform.spawn([sys.executable, "-c", _UP, str(port)], log_name="up", preexec_fn=_ignore_sigint)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"`up` exited early:\n{processes.output_of(proc)[-3000:]}"
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
        while processes.surviving_processes(temp_platform) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert processes.surviving_processes(temp_platform) == [], "processes of `up` outlived it"
    finally:
        processes.kill_group(proc)
        proc.log.close()  # type: ignore[attr-defined]
