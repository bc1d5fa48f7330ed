"""Late, corrected and duplicated records are really in the landing files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl


def _orders(landing: Path) -> pl.DataFrame:
    return duckdb.sql(f"""
        SELECT *, CAST(regexp_extract(filename, '(\\d{{4}}-\\d{{2}}-\\d{{2}})', 1) AS DATE) AS file_date
        FROM read_parquet('{landing}/shop/orders/*.parquet', filename=true)
    """).pl()


def test_late_orders_arrive_with_items_and_payments(shop, landing: Path) -> None:
    o = _orders(landing)
    first = o.sort("file_date").group_by("order_id").first()
    lag = (first["file_date"] - first["ordered_at"].dt.date()).dt.total_days()
    late = first.filter(lag > 0)
    share = late.height / first.height
    assert 0.01 < share < 0.03, share
    assert set(lag.filter(lag > 0).unique().to_list()) <= {1, 2, 3}
    assert late.height == shop.ground_truth["data_quality"]["orders"]["late_orders"]
    items = shop.tables["shop.order_items"].join(late.select("order_id", "file_date"), on="order_id")
    assert items.height >= late.height and (items["_file_date"] == items["file_date"]).all()
    pay = shop.tables["shop.payments"].filter(pl.col("amount") > 0).join(
        late.select("order_id", "file_date"), on="order_id")
    assert pay.height > 0 and (pay["_file_date"] == pay["file_date"]).all()


def test_corrections_carry_new_status_and_newer_updated_at(shop, landing: Path) -> None:
    # ignore unchanged re-deliveries (same updated_at) here; they have their own test
    o = _orders(landing).sort("file_date").unique(["order_id", "updated_at"], keep="first")
    multi = o.filter(pl.col("order_id").count().over("order_id") > 1).sort("order_id", "updated_at")
    pairs = multi.group_by("order_id", maintain_order=True).agg(
        pl.col("status").first().alias("s0"), pl.col("status").last().alias("s1"),
        pl.col("updated_at").first().alias("u0"), pl.col("updated_at").last().alias("u1"),
        pl.col("file_date").first().alias("f0"), pl.col("file_date").last().alias("f1"))
    n_orders = o["order_id"].n_unique()
    assert 0.015 < pairs.height / n_orders < 0.04
    assert (pairs["s0"] != pairs["s1"]).all() and (pairs["u1"] > pairs["u0"]).all()
    assert (pairs["f1"] > pairs["f0"]).all()
    transitions = set(pairs.select("s0", "s1").unique().iter_rows())
    assert transitions == {("shipped", "returned"), ("placed", "cancelled"), ("placed", "shipped")}
    assert pairs.height == shop.ground_truth["data_quality"]["orders"]["corrected_orders"]

    # returns (and late cancellations of paid orders) get a negative refund
    refunds = shop.tables["shop.payments"].filter(pl.col("amount") < 0)
    returned = pairs.filter(pl.col("s1") == "returned")["order_id"]
    assert returned.is_in(refunds["order_id"].implode()).all()
    totals = o.select("order_id", "order_total").unique()
    r = refunds.join(totals, on="order_id")
    assert (r["amount"] == -r["order_total"]).all()


def test_duplicates_present(shop, landing: Path) -> None:
    ev = shop.tables["web.events"]
    dup_rows = ev.height - ev.unique().height
    assert dup_rows == shop.ground_truth["data_quality"]["duplicate_event_rows"]
    assert 0.0002 < dup_rows / ev.height < 0.001
    # duplicates sit in the same file as the original
    assert ev.group_by("event_id").agg(pl.col("_file_date").n_unique())["_file_date"].max() == 1

    o = _orders(landing).drop("filename")
    same = o.drop("file_date").filter(pl.struct(pl.all()).is_duplicated())
    assert same["order_id"].n_unique() >= 3
    per = o.join(same.select("order_id").unique(), on="order_id").group_by(
        ["order_id", "updated_at"]).agg(pl.col("file_date").sort())
    gaps = per["file_date"].list.eval(pl.element().diff().dt.total_days()).list.drop_nulls().explode()
    assert (gaps == 1).all()  # re-delivered unchanged the next day


def test_customer_corrections(shop) -> None:
    c = shop.tables["shop.customers"].sort("customer_id", "updated_at")
    again = c.filter(pl.col("customer_id").count().over("customer_id") == 2)
    assert 0.01 < again["customer_id"].n_unique() / c["customer_id"].n_unique() < 0.03
    first = again.group_by("customer_id", maintain_order=True).first()
    last = again.group_by("customer_id", maintain_order=True).last()
    changed = (first["email"] != last["email"]) | (first["country_code"] != last["country_code"])
    assert changed.all()
    assert (last["updated_at"] > first["updated_at"]).all()
    assert (last["_file_date"] > first["_file_date"]).all()
    assert (first["signed_up_at"] == last["signed_up_at"]).all()


def test_product_price_correction_applies_to_later_orders(shop) -> None:
    p = shop.tables["shop.products"]
    files = p["_file_date"].unique().sort()
    assert files.len() == 2
    corr = p.filter(pl.col("_file_date") == files[1])
    assert 0 < corr.height < 0.1 * p.filter(pl.col("_file_date") == files[0]).height
    when = corr["updated_at"][0]
    new = corr.select("product_id", pl.col("unit_price").alias("new_price"))
    items = shop.tables["shop.order_items"].join(new, on="product_id")
    after = items.filter(pl.col("updated_at") >= when)
    before = items.filter(pl.col("updated_at") < when)
    assert after.height > 0 and (after["unit_price"] == after["new_price"]).all()
    assert before.height > 0 and (before["unit_price"] != before["new_price"]).all()
