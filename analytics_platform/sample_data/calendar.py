"""Calendar: seasonality, growth trend and planted anomalies per day.

Every volume in the simulation is "base rate x calendar multiplier", so the
shape that analysts should rediscover (weekly cycle, yearly sinusoid,
growth, anomaly days) is defined in exactly one place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from . import config as C

# type -> (mechanism, multiplier, metrics moved, direction)
ANOMALY_TYPES: dict[str, tuple[str, float, list[str], str]] = {
    "outage": ("all sessions x0.35 (site partly down)", 0.35,
               ["sessions", "orders", "revenue"], "down"),
    "promo": ("P(add_to_cart) x1.8, i.e. session purchase probability x1.8", 1.8,
              ["conversion", "orders", "revenue"], "up"),
    "payment_bug": ("P(purchase | checkout) x0.5, i.e. orders x0.5", 0.5,
                    ["conversion", "orders", "revenue"], "down"),
    "traffic_surge": ("all sessions x2.0 (viral campaign), funnel unchanged", 2.0,
                      ["sessions", "orders", "revenue"], "up"),
}


@dataclass
class Calendar:
    """Per-day multipliers for a run; index 0 is ``start_date``."""

    start_date: dt.date
    days: int
    dow: np.ndarray  # 0 = Monday
    doy: np.ndarray
    weekly: np.ndarray
    yearly: np.ndarray
    trend: np.ndarray
    session_mult: np.ndarray  # anomaly effect on session volume
    cart_mult: np.ndarray  # anomaly effect on P(add_to_cart)
    buy_mult: np.ndarray  # anomaly effect on P(purchase | checkout)
    anomalies: list[dict] = field(default_factory=list)

    @property
    def season(self) -> np.ndarray:
        """Seasonality without trend: what thins a customer's session process."""
        return self.weekly * self.yearly * self.session_mult

    @property
    def traffic(self) -> np.ndarray:
        """Seasonality x growth: drives anonymous visits and sign-ups."""
        return self.season * self.trend

    def date(self, day: int) -> dt.date:
        return self.start_date + dt.timedelta(days=int(day))

    def iso(self, day: int) -> str:
        return self.date(day).isoformat()


def _anomaly_days(rng: np.random.Generator, days: int, n: int) -> list[int]:
    """Spread ``n`` days over the run, >= 8 days apart and 7 days from the edges.

    The spacing guarantees each anomaly has clean same-weekday neighbours
    (day-7 and day+7) to be compared against.
    """
    lo, hi = 7, days - 8
    edges = np.linspace(lo, hi + 1, n + 1)
    picked = []
    for a, b in zip(edges[:-1], edges[1:], strict=False):
        left, right = int(np.ceil(a)) + 4, int(np.floor(b)) - 4
        picked.append(int(rng.integers(left, max(left, right) + 1)))
    return picked


def n_anomalies(days: int) -> int:
    """Up to 5 anomalies; fewer on short runs so spacing still holds."""
    return int(max(0, min(5, days // 14 - 1)))


def build_calendar(seed: int, days: int, start_date: dt.date) -> Calendar:
    rng = C.rng(seed, "calendar")
    idx = np.arange(days)
    dates = [start_date + dt.timedelta(days=int(i)) for i in idx]
    dow = np.array([d.weekday() for d in dates])
    doy = np.array([d.timetuple().tm_yday for d in dates])
    weekly = C.WEEKLY[dow]
    yearly = 1 + C.YEARLY_AMPLITUDE * np.cos(2 * np.pi * (doy - C.YEARLY_PEAK_DOY) / 365.25)
    trend = np.exp(C.TREND_GROWTH_PER_DAY * idx)
    session_mult, cart_mult, buy_mult = np.ones(days), np.ones(days), np.ones(days)

    anomalies: list[dict] = []
    n = n_anomalies(days)
    if n:
        order = [str(k) for k in rng.permutation(list(ANOMALY_TYPES))]
        kinds = (order * 2)[:n]
        for day, kind in zip(_anomaly_days(rng, days, n), kinds, strict=False):
            mechanism, mult, metrics, direction = ANOMALY_TYPES[kind]
            target = {"outage": session_mult, "traffic_surge": session_mult,
                      "promo": cart_mult, "payment_bug": buy_mult}[kind]
            target[day] = mult
            anomalies.append({
                "date": dates[day].isoformat(), "type": kind, "mechanism": mechanism,
                "metrics": metrics, "direction": direction, "magnitude": mult,
            })
    return Calendar(start_date, days, dow, doy, weekly, yearly, trend,
                    session_mult, cart_mult, buy_mult, anomalies)


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after midnight drawn from the hourly traffic profile."""
    p = C.HOURLY / C.HOURLY.sum()
    return rng.choice(24, size=n, p=p) * 3600 + rng.integers(0, 3600, n)
