"""Daily revenue and orders forecast, 30 days ahead, with prediction intervals.

Model ("direct" multi-horizon regression, one per metric): every (origin o, horizon h) pair of
the history is a training row whose target is ln(y[o+h]) and whose features are known at the
origin:

* lag/level features: ln(mean of the 28 days before o), ln(mean of the 7 days before o);
* calendar: weekday of the target day (one-hot), horizon h / 30.

A Huber regression (robust to the anomaly days the history contains) learns how the level
carries forward and the weekly shape; one fit serves all 30 horizons, so there is no recursion.

Evaluation: rolling-origin backtest, origins every 7 days from day ``MIN_TRAIN`` on, each
forecasting the next 30 days (or what is left) with a model refit on the data before it,
against the seasonal-naive forecast (repeat the last week). MAE, MAPE and MASE (errors scaled
by the in-sample one-step seasonal-naive MAE, m = 7) are pooled over all origins.

Intervals: empirical quantiles of the backtest's out-of-sample log errors (a split-conformal
construction), applied multiplicatively to the final forecast: 80% and 95%.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from ml_assets.common.history import NotEnoughHistory

if TYPE_CHECKING:
    from sklearn.linear_model import HuberRegressor

HORIZON = 30
MIN_TRAIN = 56
STEP = 7
SEASON = 7
METRICS = ("revenue", "orders")

COLUMN_DOCS = {
    "date_day": "Forecast day.",
    "metric": "revenue (EUR) or orders.",
    "horizon_days": "Days after the last observed day.",
    "forecast": "Point forecast.",
    "lower_80": "Lower end of the 80% prediction interval.",
    "upper_80": "Upper end of the 80% prediction interval.",
    "lower_95": "Lower end of the 95% prediction interval.",
    "upper_95": "Upper end of the 95% prediction interval.",
    "origin_date": "Last observed day the forecast starts from.",
    "model": "How the forecast was made.",
    "created_at": "When the forecast was made (UTC).",
}


def _features(y: np.ndarray, origin: int, dow_target: int, h: int) -> list[float]:
    level28 = np.log(max(np.mean(y[max(0, origin - 28):origin]), 1e-9))
    level7 = np.log(max(np.mean(y[max(0, origin - 7):origin]), 1e-9))
    return [level28, level7, h / HORIZON] + [float(dow_target == k) for k in range(1, 7)]


def fit(y: np.ndarray, dow: np.ndarray, horizon: int = HORIZON) -> HuberRegressor:
    """Fit the direct model on a history ``y`` with weekdays ``dow`` (0 = Monday)."""
    from sklearn.linear_model import HuberRegressor  # here, not at the top: loading the definitions stays cheap

    n = y.size
    rows, targets = [], []
    for origin in range(28, n):
        for h in range(1, horizon + 1):
            t = origin + h - 1
            if t >= n:
                break
            if y[t] > 0:
                rows.append(_features(y, origin, dow[t], h))
                targets.append(np.log(y[t]))
    if len(rows) < 20:
        raise ValueError(f"{n} days of history are too few to fit the forecast (need about 35)")
    # one BLAS thread: L-BFGS on a 9-column problem only loses to thread hand-offs (measured 7x)
    with threadpool_limits(limits=1):
        return HuberRegressor(epsilon=1.35, alpha=1e-4, max_iter=1000).fit(np.array(rows), np.array(targets))


def predict(model: HuberRegressor, y: np.ndarray, future_dow: np.ndarray) -> np.ndarray:
    n = y.size
    x = np.array([_features(y, n, future_dow[h - 1], h) for h in range(1, future_dow.size + 1)])
    return np.exp(model.predict(x))


def seasonal_naive(y: np.ndarray, horizon: int) -> np.ndarray:
    last = y[-SEASON:]
    return np.array([last[h % SEASON] for h in range(horizon)], dtype=float)


def _weekday(dates: list[dt.date]) -> np.ndarray:
    return np.array([d.weekday() for d in dates])


@dataclass
class Backtest:
    metric: str
    origins: int
    points: int
    mae: float
    mape: float
    mase: float
    naive_mae: float
    naive_mape: float
    naive_mase: float
    log_errors: np.ndarray

    @property
    def beats_naive(self) -> bool:
        return self.mase < self.naive_mase

    def summary(self) -> dict:
        return {"metric": self.metric, "origins": self.origins, "points": self.points,
                "mae": self.mae, "mape": self.mape, "mase": self.mase,
                "naive_mae": self.naive_mae, "naive_mape": self.naive_mape, "naive_mase": self.naive_mase,
                "mase_ratio_vs_naive": self.mase / self.naive_mase if self.naive_mase else float("nan")}


def required_history_days(horizon: int = HORIZON, min_train: int = MIN_TRAIN) -> int:
    """Days the backtest needs: ``min_train`` days before its first origin, then at least a week
    (or the horizon, if shorter) to score it on."""
    return min_train + min(horizon, SEASON)


def backtest(y: np.ndarray, dates: list[dt.date], metric: str, horizon: int = HORIZON,
             min_train: int = MIN_TRAIN, step: int = STEP) -> Backtest:
    dow = _weekday(dates)
    abs_m, abs_n, pct_m, pct_n, sc_m, sc_n, log_err = [], [], [], [], [], [], []
    origins = list(range(min_train, y.size - min(horizon, SEASON) + 1, step))
    if not origins:
        raise NotEnoughHistory("the forecast backtest", y.size, required_history_days(horizon, min_train))
    for o in origins:
        h = min(horizon, y.size - o)
        train, actual = y[:o], y[o:o + h]
        model_fc = predict(fit(train, dow[:o], horizon), train, dow[o:o + h])
        naive_fc = seasonal_naive(train, h)
        scale = np.mean(np.abs(train[SEASON:] - train[:-SEASON])) or 1.0
        for fc, a, p, s in ((model_fc, abs_m, pct_m, sc_m), (naive_fc, abs_n, pct_n, sc_n)):
            err = np.abs(fc - actual)
            a.append(err)
            p.append(err[actual > 0] / actual[actual > 0])
            s.append(err / scale)
        ok = (actual > 0) & (model_fc > 0)
        log_err.append(np.log(actual[ok] / model_fc[ok]))
    cat = np.concatenate
    return Backtest(metric, len(origins), int(cat(abs_m).size),
                    float(cat(abs_m).mean()), float(cat(pct_m).mean()), float(cat(sc_m).mean()),
                    float(cat(abs_n).mean()), float(cat(pct_n).mean()), float(cat(sc_n).mean()), cat(log_err))


def forecast(daily: pl.DataFrame, metrics: tuple[str, ...] = METRICS, horizon: int = HORIZON,
             created_at: dt.datetime | None = None) -> tuple[pl.DataFrame, list[Backtest]]:
    """Forecast table (one row per future day and metric) and the backtest per metric.

    ``daily`` has ``date_day`` and one column per metric; missing days count as zero. Raises
    ``NotEnoughHistory`` below ``required_history_days(horizon)`` days.
    """
    if daily.is_empty():
        raise NotEnoughHistory("the forecast backtest", 0, required_history_days(horizon))
    daily = daily.with_columns(pl.col("date_day").cast(pl.Date)).sort("date_day")
    days = pl.DataFrame({"date_day": pl.date_range(daily["date_day"].min(), daily["date_day"].max(), "1d", eager=True)})
    daily = days.join(daily, on="date_day", how="left").fill_null(0)
    dates = daily["date_day"].to_list()
    last = dates[-1]
    future = [last + dt.timedelta(days=h) for h in range(1, horizon + 1)]
    created = created_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    frames, backtests = [], []
    for metric in metrics:
        y = daily[metric].cast(pl.Float64).to_numpy()
        bt = backtest(y, dates, metric, horizon)
        backtests.append(bt)
        point = predict(fit(y, _weekday(dates), horizon), y, _weekday(future))
        q = np.quantile(bt.log_errors, [0.025, 0.10, 0.90, 0.975])
        frames.append(pl.DataFrame({
            "date_day": future, "metric": metric, "horizon_days": list(range(1, horizon + 1)),
            "forecast": point, "lower_80": point * np.exp(q[1]), "upper_80": point * np.exp(q[2]),
            "lower_95": point * np.exp(q[0]), "upper_95": point * np.exp(q[3]),
        }))
    out = pl.concat(frames).with_columns(
        origin_date=pl.lit(last), model=pl.lit("direct Huber regression on lag levels + weekday"),
        created_at=pl.lit(created).cast(pl.Datetime("us")),
    )
    return out, backtests
