"""Incremental facts after appending new days equal a full refresh, row for row."""

from __future__ import annotations

from polars.testing import assert_frame_equal

from .conftest import FIRST_BATCH_UNTIL
from .support import INCREMENTAL_MODELS


def test_incremental_build_equals_full_refresh(built):
    for name in INCREMENTAL_MODELS:
        assert built.incremental[name].height > 0
        assert_frame_equal(built.incremental[name], built.full_refresh[name], check_exact=True)


def test_second_batch_corrected_rows_built_before(built, shop):
    """The second batch really exercised the hard cases: it re-delivered orders placed in the
    first batch's days (corrections, late orders) and events of sessions already built."""
    orders = shop.data.tables["shop.orders"]
    redelivered = orders.filter(
        (orders["_file_date"].cast(str) > FIRST_BATCH_UNTIL) & (orders["ordered_at"].dt.date().cast(str) <= FIRST_BATCH_UNTIL)
    )
    assert redelivered.height > 0
    facts = built.incremental["marts.fct_orders"]
    ids = set(redelivered["order_id"].to_list())
    final = facts.filter(facts["order_id"].is_in(list(ids)))
    assert final.height == len(ids)
    # each of them carries the state of its latest delivery
    latest = redelivered.sort("updated_at").group_by("order_id").last()
    by_id = dict(zip(final["order_id"].to_list(), final["status"].to_list(), strict=False))
    for order_id, status in zip(latest["order_id"].to_list(), latest["status"].to_list(), strict=False):
        assert by_id[order_id] == status
