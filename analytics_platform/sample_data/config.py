"""Constants of the simulated shop and the random-stream helper.

All tunable "physics" of the simulation lives here so the ground truth can
echo the exact parameters that produced the data, and so modules never
hard-code magic numbers of their own.
"""

from __future__ import annotations

import zlib

import numpy as np

DAY_S = 86_400

CHANNELS: tuple[str, ...] = ("organic", "paid_search", "paid_social", "email", "referral")
COUNTRIES: tuple[str, ...] = ("DE", "FR", "NL", "ES", "IT", "AT", "BE", "PL")
COUNTRY_WEIGHTS = np.array([0.30, 0.18, 0.10, 0.12, 0.12, 0.06, 0.05, 0.07])
DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")
DEVICE_WEIGHTS = np.array([0.42, 0.48, 0.10])
PAYMENT_METHODS: tuple[str, ...] = ("card", "paypal", "klarna", "bank_transfer")
PAYMENT_WEIGHTS = np.array([0.45, 0.30, 0.15, 0.10])

# Share of traffic / sign-ups per channel (same order as CHANNELS).
CHANNEL_MIX = np.array([0.34, 0.26, 0.18, 0.12, 0.10])
# Daily ad budget in EUR at scale 1 (organic is free).
CHANNEL_BUDGET = np.array([0.0, 1_600.0, 1_100.0, 120.0, 250.0])
# Click-through rate used to derive impressions from clicks.
CHANNEL_CTR = np.array([0.030, 0.045, 0.011, 0.180, 0.060])
# Engagement multiplier by acquisition channel (referral/email users stick around).
CHANNEL_ENGAGEMENT = np.array([1.10, 1.00, 0.70, 1.20, 1.30])

# --- traffic shape ---------------------------------------------------------
WEEKLY = np.array([0.97, 0.95, 0.96, 1.00, 1.05, 1.22, 1.30])  # Mon..Sun
YEARLY_AMPLITUDE = 0.12  # +-12% sinusoid over the day of year
YEARLY_PEAK_DOY = 340  # peak in early December (gift season)
TREND_GROWTH_PER_DAY = 0.0022  # ~ +30% traffic over 120 days
HOURLY = np.array(
    [0.6, 0.4, 0.3, 0.25, 0.25, 0.35, 0.7, 1.2, 1.6, 1.8, 1.9, 2.0,
     2.1, 2.0, 1.9, 1.9, 2.0, 2.2, 2.5, 2.8, 3.0, 2.7, 2.0, 1.2]
)

# --- population (scale 1) --------------------------------------------------
INITIAL_CUSTOMERS = 5_000  # already signed up before the first day
SIGNUPS_PER_DAY = 45.0
ANON_SESSIONS_PER_DAY = 700.0
ENGAGEMENT_MEDIAN = 0.10  # logged-in sessions per day
ENGAGEMENT_SIGMA = 0.95  # log-normal spread of the latent engagement rate
ACQ_CHANNEL_SESSION_SHARE = 0.6  # logged-in sessions coming via the acquisition channel

# --- funnel ----------------------------------------------------------------
VIEWS_EXTRA_MEAN = 1.9  # views per session = 1 + Poisson(this), capped
VIEWS_MAX = 12
P_CART = {"logged_in": 0.24, "anonymous": 0.10}
P_CHECKOUT = 0.55
P_PURCHASE = {"logged_in": 0.60, "anonymous": 0.0}  # guests must log in to buy
ITEM_LINES_P = np.array([0.50, 0.27, 0.15, 0.08])  # 1..4 lines
QUANTITY_P = np.array([0.80, 0.15, 0.05])  # 1..3 units

# --- order lifecycle -------------------------------------------------------
P_INITIAL = {"placed": 0.27, "shipped": 0.70, "cancelled": 0.03}
P_CORRECTION = 0.03  # share of orders re-delivered later with a new status
CORRECTION_MIX = {"returned": 0.55, "cancelled": 0.20, "shipped": 0.25}
P_LATE = 0.02  # orders delivered 1-3 days after ordered_at
P_ORDER_DUPLICATE = 0.001  # orders re-delivered unchanged the next day
P_EVENT_DUPLICATE = 0.0005  # events duplicated inside the same file
P_CUSTOMER_CORRECTION = 0.02  # customers re-delivered with new email/country

# --- churn (hazard per day) ------------------------------------------------
CHURN = {
    "base_hazard_per_day": 0.006,
    "b_bad_order": 2.5,
    "b_engagement": 2.0,
    "engagement_reference": ENGAGEMENT_MEDIAN,
    "b_channel": dict(zip(CHANNELS, (-0.3, 0.0, 1.0, -0.4, -0.7), strict=False)),
}

# --- experiment ------------------------------------------------------------
EXPERIMENT_ID = "checkout_redesign"
EXPERIMENT_PURCHASE_MULTIPLIER = 1.08  # true lift on P(purchase | checkout)
EXPERIMENT_DAYS = 28


def rng(seed: int, stream: str) -> np.random.Generator:
    """Independent generator per concern.

    Keying each module's stream by name means changing one module's draws
    never shifts the random numbers of another, which keeps data stable
    while the generator evolves.
    """
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])
