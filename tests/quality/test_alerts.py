"""Alerts reach alerts.log and the webhook; a broken destination never raises."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from analytics_platform.defs.quality.alerts import WEBHOOK_ENV, Alert, alerts_source, send_alerts
from analytics_platform.defs.quality.sensors import alert_on_check_failure, alert_on_run_failure
from analytics_platform.resources import WarehouseResource


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    return WarehouseResource(state_dir=str(tmp_path / "state"))


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch):
    """A local HTTP endpoint (127.0.0.1) collecting the JSON bodies POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(WEBHOOK_ENV, f"http://127.0.0.1:{server.server_port}/alerts")
    yield received
    server.shutdown()
    server.server_close()


def logged_alerts(warehouse: WarehouseResource) -> list[tuple]:
    """alerts.log as SQL reads it, through the expression the platform's readers use."""
    source = alerts_source(warehouse.settings)
    if source is None:
        return []
    return duckdb.sql(f"SELECT kind, title, channel, run_id FROM {source} ORDER BY created_at").fetchall()


def test_alert_goes_to_log_and_webhook(warehouse, webhook):
    alert = Alert(kind="threshold", title="daily revenue low", message="0 < 1", channel="webhook", run_id="r1")
    quiet = Alert(kind="threshold", title="orders low", message="0 < 1", channel="log")
    delivered = send_alerts([alert, quiet], warehouse.settings)

    assert delivered == {"log": [alert.alert_id, quiet.alert_id], "webhook": [alert.alert_id]}
    assert logged_alerts(warehouse) == [
        ("threshold", "daily revenue low", "webhook", "r1"), ("threshold", "orders low", "log", None)]
    assert [body["alert_id"] for body in webhook] == [alert.alert_id]  # the `log` channel stays quiet


def test_unreachable_webhook_never_raises(warehouse, monkeypatch):
    monkeypatch.setenv(WEBHOOK_ENV, "http://127.0.0.1:9/unreachable")  # discard port: refused
    delivered = send_alerts([Alert(kind="run_failure", title="x", message="y")], warehouse.settings)
    assert delivered["webhook"] == [] and len(delivered["log"]) == 1


def test_unwritable_log_still_posts(tmp_path, webhook):
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    settings = WarehouseResource(state_dir=str(blocked / "state")).settings
    delivered = send_alerts([Alert(kind="run_failure", title="x", message="y")], settings)
    assert delivered["log"] == [] and len(delivered["webhook"]) == 1 and webhook[0]["title"] == "x"


@dg.op
def broken() -> None:
    raise RuntimeError("the source system is down")


@dg.job
def broken_job() -> None:
    broken()


def test_run_failure_sensor_alerts_with_the_step_error(warehouse, webhook):
    instance = dg.DagsterInstance.ephemeral()
    result = broken_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(iter(instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)))
    with dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure", dagster_instance=instance, dagster_run=run,
        dagster_event=failure.dagster_event, resources={"warehouse": warehouse},
    ) as context:
        alert_on_run_failure(context.for_run_failure())

    assert logged_alerts(warehouse) == [("run_failure", "Run of broken_job failed", "webhook", result.run_id)]
    assert "the source system is down" in webhook[0]["message"]


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers"), dg.AssetCheckSpec("small", asset="numbers")])
def numbers():
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="positive", passed=False, severity=dg.AssetCheckSeverity.WARN,
                              metadata={"alert_channel": "log"})
    yield dg.AssetCheckResult(check_name="small", passed=True)


def test_check_failure_sensor_alerts_each_failure_once(warehouse, webhook):
    # Dagster's default SQLite storage (an event log sharded by run), as `dagster dev` uses it
    with dg.instance_for_test() as instance:
        assert dg.materialize([numbers], instance=instance).success

        def tick(cursor=None):
            with dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}, cursor=cursor) as context:
                return alert_on_check_failure(context)

        first = tick()
        assert [row[:3] for row in logged_alerts(warehouse)] == [
            ("check_failure", "Check positive failed on numbers", "log")]
        assert webhook == []  # routed to the log channel by the check's metadata
        second = tick(first.cursor)
        assert second.skip_reason and len(logged_alerts(warehouse)) == 1

        assert dg.materialize([numbers], instance=instance).success
        third = tick(second.cursor or first.cursor)
        assert len(logged_alerts(warehouse)) == 2
        assert tick(third.cursor).skip_reason and len(logged_alerts(warehouse)) == 2
