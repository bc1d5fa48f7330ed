"""Real-browser fixtures: Debian's chromium driven by playwright, and a real Dagster (webserver +
daemon) on a free loopback port with its own DAGSTER_HOME, state and landing folders.

Nothing is downloaded: the browser is ``/usr/bin/chromium`` (never ``playwright install``) and
every test blocks the network it does not need. Without that chromium the browser tests are
skipped, except under ``CI=true``, where they fail. A failing test leaves a screenshot (and the
Dagster logs) in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from analytics_platform.settings import PROJECT_ROOT

CHROMIUM = Path(os.environ.get("ANALYTICS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
WORKSPACE = PROJECT_ROOT / "workspace.yaml"
SERVER_START_TIMEOUT = 90.0
CUSTOMERS_HEADER = "customer_id,email,first_name,last_name,country_code,acquisition_channel,signed_up_at,updated_at\n"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Remember a failed test body, so its fixtures can save screenshots on teardown."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


# --- browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    # per module, and requested after a module's data fixtures: Dagster's in-process runs must not
    # run inside playwright's event loop
    if not CHROMIUM.exists():
        reason = f"no chromium at {CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason}: CI runs every browser test, a missing browser is a failure", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser, request: pytest.FixtureRequest):
    """``new_page(**context_options)`` → a page; screenshots of every page on failure."""
    contexts = []

    def make(**options):
        context = browser.new_context(**{"viewport": {"width": 1400, "height": 900}, **options})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    if request.node.stash.get(_FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}-{j}.png"), full_page=True)
                except Exception:  # noqa: BLE001 - best effort
                    pass
    for context in contexts:
        context.close()


# --- a real Dagster --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_customers(landing: Path, name: str, ids: range) -> None:
    folder = landing / "shop" / "customers"
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{i},c{i}@mail.example,Ann,Lee,DE,organic,2026-01-01 10:00:00,2026-01-01 10:00:00\n" for i in ids)
    (folder / name).write_text(CUSTOMERS_HEADER + rows)
    # older than the ingestion's settle time, so a manual run takes them at once
    past = time.time() - 60
    os.utime(folder / name, (past, past))


@dataclass
class DagsterServer:
    url: str
    home: Path
    state: Path
    landing: Path
    logs: Path
    processes: dict[str, subprocess.Popen]

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def stop_all_sensors(self) -> list[str]:
        """Sensors start RUNNING by default (landing, alerts, automation): stopped, so the only
        run in the test is the one launched by clicking."""
        data = self.graphql("""{ repositoriesOrError { ... on RepositoryConnection { nodes {
            sensors { name sensorState { id status } } } } } }""")
        stopped = []
        for repo in data["repositoriesOrError"]["nodes"]:
            for sensor in repo["sensors"]:
                if sensor["sensorState"]["status"] == "RUNNING":
                    result = self.graphql(
                        "mutation($id: String) { stopSensor(id: $id) { __typename ... on PythonError { message } } }",
                        {"id": sensor["sensorState"]["id"]},
                    )
                    assert result["stopSensor"]["__typename"] == "StopSensorMutationResult", result
                    stopped.append(sensor["name"])
        return stopped

    def runs(self) -> list[dict]:
        data = self.graphql("{ runsOrError { ... on Runs { results { runId status jobName } } } }")
        return data["runsOrError"]["results"]

    def log_tail(self, lines: int = 60) -> str:
        out = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)


def _start(name: str, args: list[str], env: dict[str, str], cwd: Path, logs: Path) -> subprocess.Popen:
    executable = Path(sys.executable).parent / args[0]
    log = (logs / f"{name}.log").open("w")
    # own process group: teardown signals the server and every child it spawned (code servers, runs)
    return subprocess.Popen([str(executable), *args[1:]], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen, timeout: float = 15.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def _wait_for_server(server: DagsterServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dagster-webserver exited with {process.returncode}\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/server_info", timeout=2) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    else:
        raise AssertionError(f"dagster-webserver did not answer within {SERVER_START_TIMEOUT:.0f} s\n{server.log_tail()}")
    # /server_info answers before the code location has loaded; wait for the repository too
    while time.monotonic() < deadline:
        data = server.graphql("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                              "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
        entries = data["workspaceOrError"]["locationEntries"]
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            errors = [e["locationOrLoadError"] for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
            assert not errors, f"code location failed to load: {errors}"
            return
        time.sleep(0.3)
    raise AssertionError(f"code location did not load within {SERVER_START_TIMEOUT:.0f} s\n{server.log_tail()}")


@pytest.fixture(scope="module")
def dagster_server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[DagsterServer]:
    root = tmp_path_factory.mktemp("dagster_ui")
    home, state, landing, logs = (root / n for n in ("dagster_home", "state", "landing", "logs"))
    for folder in (home, state, landing, logs):
        folder.mkdir()
    (home / "dagster.yaml").symlink_to(PROJECT_ROOT / "dagster.yaml")
    write_customers(landing, "customers_2026-01-01.csv", range(1, 6))
    write_customers(landing, "customers_2026-01-02.csv", range(6, 9))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))},
        "DAGSTER_HOME": str(home),
        "ANALYTICS_STATE_DIR": str(state),
        "ANALYTICS_LANDING_DIR": str(landing),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    workspace = str(WORKSPACE)
    server = DagsterServer(f"http://127.0.0.1:{port}", home, state, landing, logs, {})
    try:
        server.processes["webserver"] = _start(
            "webserver", ["dagster-webserver", "-w", workspace, "-h", "127.0.0.1", "-p", str(port)], env, home, logs)
        _wait_for_server(server, server.processes["webserver"])
        server.stop_all_sensors()
        # the daemon dequeues runs (dagster.yaml limits concurrent runs, so runs are queued)
        server.processes["daemon"] = _start("daemon", ["dagster-daemon", "run", "-w", workspace], env, home, logs)
        yield server
    finally:
        for process in reversed(list(server.processes.values())):
            _stop(process)
        if request.session.testsfailed:
            ARTIFACTS.mkdir(exist_ok=True)
            for log in logs.glob("*.log"):
                shutil.copy(log, ARTIFACTS / f"dagster-{log.name}")
