"""Files dropped into the landing prefix on the real object store (SeaweedFS) flow like landed files:
the landing sensor sees them once they are complete and settled, its run loads them and builds the
marts, and the raw rows reconcile with what the generator wrote. An object uploaded again (same
content, another name or the same name) is loaded once; a malformed one is copied to the quarantine
prefix with a reason naming the cause and the line, while the good ones beside it load."""

from __future__ import annotations

import json
import time
from pathlib import Path

import dagster as dg
import pytest

from analytics_platform import warehouse
from analytics_platform.definitions import defs
from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.ingestion.objects import put
from analytics_platform.defs.ingestion.sensors import SETTLE_SECONDS, landing_sensor
from analytics_platform.defs.transform.assets import dbt_models
from analytics_platform.sample_data import generate, write_landing
from analytics_platform.sample_data.schema import SPECS
from analytics_platform.settings import LANDING_URL_VARIABLE, load_settings
from tests.transform.support import resources

RAGGED = "payments/x_2099-01-02.csv"


def upload(store, root: Path, url: str) -> dict[str, bytes]:
    """Every data file under ``root`` as an object under ``url`` (the producer's upload)."""
    con = store.duckdb()
    uploaded = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("_")):
        uploaded[path.relative_to(root).as_posix()] = content = path.read_bytes()
        put(con, url + path.relative_to(root).as_posix(), content)
    con.close()
    return uploaded


def sense(instance, state: Path, landing: Path, cursor: str | None = None):
    warehouse_resource = resources(state, landing)["warehouse"]
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": warehouse_resource}, definitions=defs) as context:
        return landing_sensor(context)


def run(instance, state: Path, landing: Path, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    return dg.materialize([raw_tables, dbt_models], selection=list(request.asset_selection), resources=resources(state, landing),
                          instance=instance, run_config=request.run_config)


def test_objects_in_the_landing_prefix_flow_to_the_marts_once(servers, shared_env, tmp_path, monkeypatch: pytest.MonkeyPatch):
    bucket = servers.store.bucket
    name = shared_env["ANALYTICS_DATA_URL"].removeprefix(f"s3://{bucket}/").strip("/")
    landing_url = f"s3://{bucket}/{name}-in/landing/"
    monkeypatch.setenv(LANDING_URL_VARIABLE, landing_url)
    state, landing = tmp_path / "state", tmp_path / "landing"  # the local landing folder stays empty
    data = generate(seed=7, scale=0.02, days=4)
    write_landing(data, tmp_path / "producer")
    uploaded = upload(servers.store, tmp_path / "producer", landing_url)
    payments = sorted(k for k in uploaded if k.startswith("shop/payments/"))
    store = servers.store.duckdb()
    header, first, *_ = uploaded[payments[0]].decode().splitlines()
    ragged = f"{header}\n{first}\n{first},extra\n{first}\n".encode()

    with dg.instance_for_test() as instance:
        time.sleep(SETTLE_SECONDS + 1)
        # the same bytes under another name, a malformed file (line 3 has one field too many), an upload in progress
        put(store, f"{landing_url}shop/payments/payments_2099-01-01.csv", uploaded[payments[0]])
        put(store, f"{landing_url}shop/{RAGGED}", ragged)
        put(store, f"{landing_url}shop/payments/payments_2099-01-03.csv.part", uploaded[payments[0]])
        (settled,) = sense(instance, state, landing).run_requests  # the three just written wait
        assert sorted(settled.run_config["ops"]["raw_tables"]["config"]["files"]) == sorted(landing_url + k for k in uploaded)
        time.sleep(SETTLE_SECONDS + 1)
        first_tick = sense(instance, state, landing)
        (request,) = first_tick.run_requests
        files = request.run_config["ops"]["raw_tables"]["config"]["files"]
        assert sorted(files) == sorted([landing_url + k for k in uploaded] + [f"{landing_url}shop/payments/payments_2099-01-01.csv",
                                                                             f"{landing_url}shop/{RAGGED}"])
        nothing = sense(instance, state, landing, first_tick.cursor)
        assert isinstance(nothing, dg.SkipReason) and landing_url in nothing.skip_message
        result = run(instance, state, landing, request)
        assert result.success

        settings = load_settings()
        with warehouse.session(settings, read_only=True) as con:
            for key, frame in data.tables.items():
                spec = SPECS[key]
                table = warehouse.quote_ident(f"{spec.source}__{spec.table}")
                assert con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0] == frame.height, key
            ledger = con.execute("SELECT source_file, count(*) FROM meta.ingest_ledger GROUP BY 1").fetchall()
            assert sorted(f for f, _ in ledger) == sorted(landing_url + k for k in uploaded)  # the copy: a duplicate, not loaded
            assert {n for _, n in ledger} == {1}
            assert con.execute("SELECT count(DISTINCT _source_file) FROM raw.shop__payments").fetchone()[0] == len(payments)
            orders = con.execute("SELECT count(DISTINCT order_id) FROM raw.shop__orders").fetchone()[0]
            assert con.execute("SELECT count(*) FROM marts.fct_orders").fetchone()[0] == orders > 0
            (quarantined,) = con.execute("SELECT source_file, reason_code, reason, quarantine_path FROM meta.quarantine").fetchall()
        assert quarantined[:2] == (f"{landing_url}shop/{RAGGED}", "ragged_rows") and "line 3" in quarantined[2]
        destination = quarantined[3]
        assert destination.startswith(f"s3://{bucket}/{name}-in/quarantine/shop/payments/") and destination.endswith("__x_2099-01-02.csv")
        objects = set(servers.store.list(f"{name}-in/quarantine/"))
        assert objects == {destination, f"{destination}.reason.json", f"{destination}.reason.txt"}
        assert store.execute("SELECT content FROM read_blob(?)", [destination]).fetchone()[0] == ragged
        reason = json.loads(store.execute("SELECT content FROM read_blob(?)", [f"{destination}.reason.json"]).fetchone()[0])
        assert reason["reason_code"] == "ragged_rows" and "line 3" in reason["reason"]
        assert "line 3" in store.execute("SELECT content FROM read_blob(?)", [f"{destination}.reason.txt"]).fetchone()[0].decode()

        # The producer uploads one object again (same name, same bytes: a new stamp), and a manual
        # run takes everything in landing: nothing is loaded twice, the malformed object not re-read.
        put(store, landing_url + payments[1], uploaded[payments[1]])
        time.sleep(SETTLE_SECONDS + 1)
        (again,) = sense(instance, state, landing, first_tick.cursor).run_requests
        assert again.run_config["ops"]["raw_tables"]["config"]["files"] == [landing_url + payments[1]]
        assert run(instance, state, landing, again).success
        everything = dg.materialize([raw_tables], resources=resources(state, landing), instance=instance,
                                    run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0}}}})
        assert everything.success
        with warehouse.session(settings, read_only=True) as con:
            assert con.execute("SELECT count(*) FROM raw.shop__payments").fetchone()[0] == data.tables["shop.payments"].height
            assert con.execute("SELECT count(*) FROM meta.ingest_ledger").fetchone()[0] == len(uploaded)
            assert con.execute("SELECT count(*) FROM meta.quarantine").fetchone()[0] == 1
    store.close()
