"""Revenue/orders forecast: beats seasonal naive on a rolling-origin backtest; sane intervals."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ml_assets.common.history import NotEnoughHistory
from ml_assets.forecast import model


@pytest.fixture(scope="module")
def daily(shop_con) -> pl.DataFrame:
    return shop_con.execute("select date_day, revenue, orders from ml_in_daily order by date_day").pl()


@pytest.fixture(scope="module")
def result(daily):
    return model.forecast(daily)


def test_backtest_beats_seasonal_naive(result):
    _, backtests = result
    for b in backtests:
        assert b.origins >= 6 and b.points >= 150
        assert b.beats_naive and b.mase < 0.95 * b.naive_mase, b.summary()
        assert b.mape < b.naive_mape


def test_forecast_table_shape_and_intervals(result, daily):
    fc, _ = result
    assert fc.height == 2 * model.HORIZON
    assert fc["date_day"].min() == daily["date_day"].max() + dt.timedelta(days=1)
    assert (fc["lower_95"] <= fc["lower_80"]).all() and (fc["lower_80"] <= fc["forecast"]).all()
    assert (fc["forecast"] <= fc["upper_80"]).all() and (fc["upper_80"] <= fc["upper_95"]).all()
    assert (fc["lower_95"] > 0).all()


def test_intervals_cover_a_held_out_month(daily, shop):
    """Fit on the first 90 days, forecast the last 30: the 95% band holds most actual days."""
    history, future = daily.head(90), daily.tail(30)
    fc, _ = model.forecast(history)
    for metric in model.METRICS:
        f = fc.filter(pl.col("metric") == metric).join(future.select("date_day", metric), on="date_day")
        inside = ((f[metric] >= f["lower_95"]) & (f[metric] <= f["upper_95"])).mean()
        assert inside >= 0.8, (metric, inside)


@pytest.mark.parametrize("days", [0, 30, model.required_history_days() - 1])
def test_short_history_says_how_much_is_missing(daily, days):
    with pytest.raises(NotEnoughHistory, match=f"have {days} days, need {model.required_history_days()}") as short:
        model.forecast(daily.head(days))
    assert (short.value.have_days, short.value.need_days) == (days, 63)


def test_just_enough_history_forecasts(daily):
    fc, backtests = model.forecast(daily.head(model.required_history_days()))
    assert fc.height == 2 * model.HORIZON and all(b.origins == 1 for b in backtests)
