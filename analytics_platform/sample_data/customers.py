"""Customer population: an initial base plus sign-ups over the run.

Each customer carries a latent engagement rate (logged-in sessions per
day) that drives both how often they visit and how likely they are to
churn; it is never written to the landing files, only to the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import config as C
from .calendar import Calendar, time_of_day
from .convert import file_dates

FIRST = ("Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
         "Katrin", "Luca", "Marie", "Noah", "Olga", "Paul", "Rosa", "Sven", "Tara", "Yusuf")
LAST = ("Muller", "Schmidt", "Dubois", "Rossi", "Garcia", "Jansen", "Kowalski", "Peeters",
        "Huber", "Martin", "Bianchi", "Lopez", "DeVries", "Nowak", "Weber", "Moreau")
DOMAINS = ("mail.example", "inbox.example", "post.example", "web.example")


@dataclass
class Customers:
    """Arrays indexed by ``customer_id - 1`` (ids are ordered by sign-up)."""

    signup_s: np.ndarray  # seconds since start (negative = before the run)
    channel: np.ndarray  # index into CHANNELS
    country: np.ndarray  # index into COUNTRIES
    engagement: np.ndarray  # latent logged-in sessions per day

    @property
    def n(self) -> int:
        return len(self.signup_s)

    @property
    def customer_id(self) -> np.ndarray:
        return np.arange(1, self.n + 1, dtype=np.int64)


def base_hazard(channel: np.ndarray, engagement: np.ndarray) -> np.ndarray:
    """Daily churn hazard without a bad order (see ``churn.py`` for the model)."""
    p = C.CHURN
    b_ch = np.array([p["b_channel"][c] for c in C.CHANNELS])[channel]
    return p["base_hazard_per_day"] * np.exp(
        b_ch - p["b_engagement"] * np.log(engagement / p["engagement_reference"]))


def _engagement(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    return C.ENGAGEMENT_MEDIAN * C.CHANNEL_ENGAGEMENT[channel] * rng.lognormal(0.0, C.ENGAGEMENT_SIGMA, channel.size)


def _initial_base(rng: np.random.Generator, n0: int) -> tuple[np.ndarray, ...]:
    """Customers who signed up in the year before the run AND are still active.

    Candidates are thinned by their survival probability exp(-hazard * age),
    so the base starts in a steady state (survivors skew engaged) instead of
    shedding all its low-engagement members in the first week.
    """
    m = 10 * n0
    signup = rng.integers(-365 * C.DAY_S, 0, m)
    channel = rng.choice(len(C.CHANNELS), m, p=C.CHANNEL_MIX)
    country = rng.choice(len(C.COUNTRIES), m, p=C.COUNTRY_WEIGHTS)
    engagement = _engagement(rng, channel)
    survive = rng.random(m) < np.exp(base_hazard(channel, engagement) * signup / C.DAY_S)
    pick = np.flatnonzero(survive)[:n0]
    return signup[pick], channel[pick], country[pick], engagement[pick]


def build_customers(seed: int, scale: float, cal: Calendar, noise: np.ndarray) -> Customers:
    rng = C.rng(seed, "customers")
    s0, ch0, co0, e0 = _initial_base(rng, int(round(C.INITIAL_CUSTOMERS * scale)))
    lam = (C.SIGNUPS_PER_DAY * scale * cal.traffic[:, None, None]
           * C.CHANNEL_MIX[None, :, None] * C.COUNTRY_WEIGHTS[None, None, :] * noise)
    counts = rng.poisson(lam).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    day, ch1, co1 = np.unravel_index(cell, lam.shape)
    s1 = day * C.DAY_S + time_of_day(rng, cell.size)
    e1 = _engagement(rng, ch1)

    signup = np.concatenate([s0, s1])
    order = np.argsort(signup, kind="stable")
    return Customers(signup[order].astype(np.int64), np.concatenate([ch0, ch1])[order],
                     np.concatenate([co0, co1])[order], np.concatenate([e0, e1])[order])


def customer_rows(seed: int, cust: Customers, cal: Calendar, start_epoch: int) -> tuple[pl.DataFrame, dict]:
    """Initial customer rows plus correction re-deliveries (new email/country).

    Returns the frame (with ``_file_day``) and a small summary for the truth.
    """
    rng = C.rng(seed, "customer_rows")
    n = cust.n
    cid = cust.customer_id
    fi, la, dom = rng.integers(0, len(FIRST), n), rng.integers(0, len(LAST), n), rng.integers(0, len(DOMAINS), n)
    first = pl.Series(FIRST)[fi]
    last = pl.Series(LAST)[la]
    email = (first.str.to_lowercase() + "." + last.str.to_lowercase() + "."
             + pl.Series(cid).cast(pl.Utf8) + "@" + pl.Series(DOMAINS)[dom])
    file_day = np.maximum(cust.signup_s // C.DAY_S, 0)
    base = pl.DataFrame({
        "_file_date": file_dates(file_day, cal.start_date),
        "customer_id": cid,
        "email": email,
        "first_name": first.set(pl.Series(rng.random(n) < 0.03), None),
        "last_name": last.set(pl.Series(rng.random(n) < 0.03), None),
        "country_code": pl.Series(C.COUNTRIES)[cust.country],
        "acquisition_channel": pl.Series(C.CHANNELS)[cust.channel],
        "_signup_s": cust.signup_s,
        "_updated_s": cust.signup_s,
    })

    # corrections: a later day's file re-delivers the row with a newer updated_at
    pick = np.flatnonzero((rng.random(n) < C.P_CUSTOMER_CORRECTION) & (file_day < cal.days - 1))
    corr_day = rng.integers(file_day[pick] + 1, cal.days)
    corr_s = corr_day * C.DAY_S + time_of_day(rng, pick.size)
    change_country = rng.random(pick.size) < 0.4
    new_country = (cust.country[pick] + rng.integers(1, len(C.COUNTRIES), pick.size)) % len(C.COUNTRIES)
    corr = base[pick].with_columns(
        _file_date=file_dates(corr_day, cal.start_date),
        _updated_s=pl.Series(corr_s.astype(np.int64)),
        email=pl.when(pl.Series(~change_country)).then(
            pl.col("email").str.replace(r"@.*$", "@newmail.example")).otherwise(pl.col("email")),
        country_code=pl.when(pl.Series(change_country))
        .then(pl.Series(C.COUNTRIES)[new_country]).otherwise(pl.col("country_code")),
    )
    out = pl.concat([base, corr]).with_columns(
        signed_up_at=pl.from_epoch(pl.col("_signup_s") + start_epoch, time_unit="s").cast(pl.Datetime("us")),
        updated_at=pl.from_epoch(pl.col("_updated_s") + start_epoch, time_unit="s").cast(pl.Datetime("us")),
    ).drop("_signup_s", "_updated_s")
    summary = {
        "customers": n,
        "initial_base": int((cust.signup_s < 0).sum()),
        "signed_up_during_run": int((cust.signup_s >= 0).sum()),
        "corrected_customers": int(pick.size),
        "corrected_country": int(change_country.sum()),
        "corrected_email": int((~change_country).sum()),
    }
    return out, summary
