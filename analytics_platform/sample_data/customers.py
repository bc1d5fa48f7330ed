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


def build_customers(seed: int, scale: float, cal: Calendar, noise: np.ndarray) -> Customers:
    rng = C.rng(seed, "customers")
    n0 = int(round(C.INITIAL_CUSTOMERS * scale))
    s0 = rng.integers(-365 * C.DAY_S, 0, n0)
    ch0 = rng.choice(len(C.CHANNELS), n0, p=C.CHANNEL_MIX)
    co0 = rng.choice(len(C.COUNTRIES), n0, p=C.COUNTRY_WEIGHTS)

    lam = (C.SIGNUPS_PER_DAY * scale * cal.traffic[:, None, None]
           * C.CHANNEL_MIX[None, :, None] * C.COUNTRY_WEIGHTS[None, None, :] * noise)
    counts = rng.poisson(lam).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    day, ch1, co1 = np.unravel_index(cell, lam.shape)
    s1 = day * C.DAY_S + time_of_day(rng, cell.size)

    signup = np.concatenate([s0, s1])
    channel = np.concatenate([ch0, ch1])
    country = np.concatenate([co0, co1])
    order = np.lexsort((rng.random(signup.size), signup))
    channel, country, signup = channel[order], country[order], signup[order]
    engagement = (C.ENGAGEMENT_MEDIAN * C.CHANNEL_ENGAGEMENT[channel]
                  * rng.lognormal(0.0, C.ENGAGEMENT_SIGMA, signup.size))
    return Customers(signup.astype(np.int64), channel, country, engagement)


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
        "_file_day": file_day.astype(np.int32),
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
        _file_day=pl.Series(corr_day.astype(np.int32)),
        _updated_s=pl.Series(corr_s.astype(np.int64)),
        email=pl.when(pl.Series(~change_country)).then(
            pl.col("email").str.replace(r"@.*$", "@newmail.example")).otherwise(pl.col("email")),
        country_code=pl.when(pl.Series(change_country))
        .then(pl.Series(C.COUNTRIES)[new_country]).otherwise(pl.col("country_code")),
    )
    out = pl.concat([base, corr]).with_columns(
        signed_up_at=pl.from_epoch(pl.col("_signup_s") + start_epoch, time_unit="s"),
        updated_at=pl.from_epoch(pl.col("_updated_s") + start_epoch, time_unit="s"),
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
