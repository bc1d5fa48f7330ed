"""Web sessions: logged-in Poisson processes plus anonymous visits.

Logged-in sessions of a customer form a Poisson process at their latent
engagement rate, thinned day by day by the seasonality (including outage
and surge anomalies), from sign-up to the end of the run; churn truncates
it later (see ``churn.py``). Anonymous sessions are Poisson counts per
day x channel x country, following trend, seasonality and ad-spend noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import config as C
from .calendar import Calendar, time_of_day
from .customers import Customers


@dataclass
class Sessions:
    """One entry per session; arrays of equal length."""

    start_s: np.ndarray  # seconds since start
    customer: np.ndarray  # customer index (id - 1), -1 for anonymous
    channel: np.ndarray
    country: np.ndarray
    device: np.ndarray

    @property
    def n(self) -> int:
        return len(self.start_s)

    def take(self, idx: np.ndarray) -> Sessions:
        return Sessions(*(getattr(self, f)[idx] for f in
                          ("start_s", "customer", "channel", "country", "device")))


def _logged_in(rng: np.random.Generator, cust: Customers, cal: Calendar) -> tuple[np.ndarray, np.ndarray]:
    season = cal.season
    smax = float(season.max())
    end = cal.days * C.DAY_S
    a = np.maximum(cust.signup_s, 0)
    span = np.maximum(end - a, 0)
    n_cand = rng.poisson(cust.engagement * smax * span / C.DAY_S)
    who = np.repeat(np.arange(cust.n), n_cand)
    t = a[who] + (rng.random(who.size) * span[who]).astype(np.int64)
    day = t // C.DAY_S
    keep = rng.random(who.size) < season[day] / smax
    who, t, day = who[keep], t[keep], day[keep]
    # the day comes from the process; the hour from the daily profile
    t2 = day * C.DAY_S + time_of_day(rng, who.size)
    t = np.where(t2 >= cust.signup_s[who], t2, t)
    return who, t


def _anonymous(rng: np.random.Generator, scale: float, cal: Calendar,
               noise: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lam = (C.ANON_SESSIONS_PER_DAY * scale * cal.traffic[:, None, None]
           * C.CHANNEL_MIX[None, :, None] * C.COUNTRY_WEIGHTS[None, None, :] * noise)
    counts = rng.poisson(lam).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    day, ch, co = np.unravel_index(cell, lam.shape)
    return day * C.DAY_S + time_of_day(rng, cell.size), ch, co


def build_sessions(seed: int, scale: float, cust: Customers, cal: Calendar,
                   noise: np.ndarray) -> Sessions:
    """All candidate sessions, sorted by start time (before churn truncation)."""
    rng = C.rng(seed, "sessions")
    who, t_li = _logged_in(rng, cust, cal)
    use_acq = rng.random(who.size) < C.ACQ_CHANNEL_SESSION_SHARE
    mix = rng.choice(len(C.CHANNELS), who.size, p=C.CHANNEL_MIX)
    ch_li = np.where(use_acq, cust.channel[who], mix)
    t_an, ch_an, co_an = _anonymous(rng, scale, cal, noise)

    start = np.concatenate([t_li, t_an]).astype(np.int64)
    customer = np.concatenate([who, np.full(t_an.size, -1)]).astype(np.int64)
    channel = np.concatenate([ch_li, ch_an]).astype(np.int8)
    country = np.concatenate([cust.country[who], co_an]).astype(np.int8)
    device = rng.choice(len(C.DEVICES), start.size, p=C.DEVICE_WEIGHTS).astype(np.int8)
    order = np.argsort(start, kind="stable")  # candidate times are random already
    return Sessions(start, customer, channel, country, device).take(order)
