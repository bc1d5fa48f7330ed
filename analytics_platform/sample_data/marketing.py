"""Ad spend per day x channel x country, coupled to the traffic it buys.

One log-normal noise cube scales both the spend and the intensity of the
paid channel's visits/sign-ups, so spend and traffic are genuinely
correlated (an attribution model has signal to find), while organic
traffic stays free.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from . import config as C
from .calendar import Calendar


def spend_noise(seed: int, days: int) -> np.ndarray:
    """Multiplicative noise, shape (days, channels, countries); 1 for organic."""
    rng = C.rng(seed, "marketing_noise")
    shape = (days, len(C.CHANNELS), len(C.COUNTRIES))
    # a persistent campaign level per channel/country plus daily jitter
    level = rng.lognormal(0.0, 0.25, shape[1:])
    noise = rng.lognormal(-0.5 * 0.2**2, 0.2, shape) * level / level.mean()
    noise[:, 0, :] = 1.0
    return noise


def ad_spend_frame(seed: int, cal: Calendar, noise: np.ndarray, scale: float,
                   sessions_cube: np.ndarray) -> pl.DataFrame:
    """Build the ``marketing.ad_spend`` rows.

    ``sessions_cube`` holds the realised sessions per (day, channel,
    country); clicks are derived from it so reported clicks track visits.
    """
    rng = C.rng(seed, "ad_spend")
    days, n_ch, n_co = noise.shape
    budget = (C.CHANNEL_BUDGET[None, :, None] * C.COUNTRY_WEIGHTS[None, None, :]
              * scale * cal.traffic[:, None, None] / cal.session_mult[:, None, None])
    spend_cents = np.round(budget * noise * 100).astype(np.int64)
    clicks = np.round(sessions_cube * rng.uniform(1.05, 1.3, noise.shape)).astype(np.int64)
    ctr = C.CHANNEL_CTR[None, :, None] * rng.uniform(0.85, 1.15, noise.shape)
    impressions = np.round(clicks / ctr).astype(np.int64)
    d, ch, co = np.meshgrid(np.arange(days), np.arange(n_ch), np.arange(n_co), indexing="ij")
    return pl.DataFrame({
        "_file_date": pl.Series([cal.date(i) for i in range(days)])[d.ravel()],
        "channel": pl.Series(C.CHANNELS)[ch.ravel()],
        "country_code": pl.Series(C.COUNTRIES)[co.ravel()],
        "spend_cents": spend_cents.ravel(),
        "impressions": impressions.ravel(),
        "clicks": clicks.ravel(),
    }).with_columns(spend_date=pl.col("_file_date"))
