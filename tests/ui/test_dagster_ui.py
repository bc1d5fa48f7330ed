"""The Dagster UI in a real browser: materialize a raw table by clicking, watch the run succeed,
find its rows in the warehouse."""

from __future__ import annotations

import re

from playwright.sync_api import Page, TimeoutError as PlaywrightTimeout

from analytics_platform.resources import WarehouseResource

from .conftest import DagsterServer

RUN_TIMEOUT_MS = 90_000


def dismiss_community_popup(page: Page, timeout_ms: float = 8_000) -> bool:
    """The first visit shows "Join the Dagster community"; Skip it (remembered in localStorage)."""
    skip = page.get_by_role("button", name="Skip", exact=True)
    try:
        skip.wait_for(state="visible", timeout=timeout_ms)
    except PlaywrightTimeout:
        return False
    skip.click()
    skip.wait_for(state="hidden")
    return True


def test_materialize_a_raw_table_from_the_ui(dagster_server: DagsterServer, new_page):
    server = dagster_server
    page = new_page()
    external: list[str] = []
    # loopback only: anything else the UI might reach for is refused (and listed on failure)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server.url)
               else (external.append(route.request.url), route.abort()))

    # the asset graph
    page.goto(f"{server.url}/asset-groups")
    page.get_by_text("ingestion", exact=True).first.wait_for()
    dismiss_community_popup(page)
    # should it come back later (it should not), it is dismissed again before any action
    page.add_locator_handler(page.get_by_role("button", name="Skip", exact=True), lambda skip: skip.click())

    # the asset's page: Materialize
    page.goto(f"{server.url}/assets/raw/shop__customers")
    page.get_by_text("lake.raw.shop__customers").first.wait_for()
    materialize = page.get_by_role("button").filter(has_text=re.compile(r"^\s*Materialize\s*$"))
    materialize.click()

    # the toast links to the run; the run page shows its events until RUN_SUCCESS
    page.get_by_text("Launched run").wait_for()
    page.get_by_role("link", name="View", exact=True).first.click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"))
    run_id = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)
    outcome = page.get_by_text(re.compile(r"^RUN_(SUCCESS|FAILURE|CANCELED)$")).first
    outcome.wait_for(timeout=RUN_TIMEOUT_MS)
    assert outcome.inner_text() == "RUN_SUCCESS", f"run {run_id} did not succeed\n{server.log_tail()}"
    page.get_by_text("Success", exact=True).first.wait_for()  # the run's status tag

    runs = {r["runId"]: r for r in server.runs()}
    assert runs[run_id]["status"] == "SUCCESS"
    assert len(runs) == 1, f"only the clicked run should exist (sensors are stopped): {runs}"

    # the rows are in the warehouse, with their lineage
    warehouse = WarehouseResource(state_dir=str(server.state), landing_dir=str(server.landing))
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT count(*), count(DISTINCT customer_id), count(DISTINCT _source_file) FROM raw.shop__customers"
        ).fetchone()
        ledger = con.execute("SELECT count(*), sum(rows_loaded) FROM meta.ingest_ledger WHERE run_id = ?", [run_id]).fetchone()
    assert rows == (8, 8, 2)
    assert ledger == (2, 8)

    # and the UI shows the materialization on the asset
    page.goto(f"{server.url}/assets/raw/shop__customers?view=events")
    page.get_by_text(run_id[:8]).first.wait_for()
    assert not external, f"the UI tried to reach beyond loopback: {external}"
