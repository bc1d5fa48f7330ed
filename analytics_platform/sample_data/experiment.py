"""A/B test ``checkout_redesign``: hash assignment, exposure and its truth.

Customers with a logged-in session inside the experiment window are
assigned 50/50 by a deterministic hash of (experiment, customer) - no
randomness, so re-running with another seed keeps a customer's arm. The
first in-window session is the exposure; every in-window session of a
treatment customer has P(purchase | checkout) multiplied by the true lift.
"""

from __future__ import annotations

import zlib

import numpy as np

from . import config as C

_M1, _M2, _M3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def window(days: int) -> tuple[int, int]:
    """[first_day, end_day) of the experiment, placed mid-run."""
    start = max(1, int(round(days * 0.35)))
    end = min(days, start + C.EXPERIMENT_DAYS)
    return (start, end) if end > start else (0, days)


def is_treatment(customer_id: np.ndarray, experiment_id: str = C.EXPERIMENT_ID) -> np.ndarray:
    """SplitMix64 hash of (experiment, customer_id) -> bucket 0..99; <50 is treatment."""
    with np.errstate(over="ignore"):
        x = customer_id.astype(np.uint64) ^ (np.uint64(zlib.crc32(experiment_id.encode())) << np.uint64(32))
        x = x + _M1
        x = (x ^ (x >> np.uint64(30))) * _M2
        x = (x ^ (x >> np.uint64(27))) * _M3
        x = x ^ (x >> np.uint64(31))
    return (x % np.uint64(100)) < np.uint64(50)


def treated_sessions(start_s: np.ndarray, customer: np.ndarray, days: int) -> np.ndarray:
    """Sessions that see the redesign: in-window sessions of treatment customers."""
    w0, w1 = window(days)
    in_win = (start_s >= w0 * C.DAY_S) & (start_s < w1 * C.DAY_S) & (customer >= 0)
    return in_win & is_treatment(customer + 1)


def experiment_truth(start_s: np.ndarray, customer: np.ndarray, p_cart: np.ndarray,
                     p_buy_control: np.ndarray, purchased: np.ndarray,
                     days: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Assignments/exposures and the true effect, from the *final* sessions.

    Expected conversion of a customer under an arm is
    1 - prod_s (1 - P(cart)_s * P(checkout) * P(buy | arm)_s) over their
    in-window sessions; averaging over all assigned customers under both
    arms gives the counterfactual control/treatment rates whose ratio is
    the true relative lift in per-user conversion.

    Returns (truth, exposure session indices, treatment flag per exposure).
    """
    w0, w1 = window(days)
    in_win = np.flatnonzero((start_s >= w0 * C.DAY_S) & (start_s < w1 * C.DAY_S) & (customer >= 0))
    cust_w = customer[in_win]
    users, first = np.unique(cust_w, return_index=True)  # sessions are time-sorted
    exposure_sessions = in_win[first]
    treat = is_treatment(users + 1)
    pos = np.searchsorted(users, cust_w)
    p_buy_t = np.minimum(1.0, p_buy_control[in_win] * C.EXPERIMENT_PURCHASE_MULTIPLIER)
    q_c = p_cart[in_win] * C.P_CHECKOUT * p_buy_control[in_win]
    q_t = p_cart[in_win] * C.P_CHECKOUT * p_buy_t
    conv_c = 1 - np.exp(np.bincount(pos, np.log1p(-q_c), users.size))
    conv_t = 1 - np.exp(np.bincount(pos, np.log1p(-q_t), users.size))
    converted = np.bincount(pos, purchased[in_win].astype(float), users.size) > 0
    exp_c, exp_t = float(conv_c.mean()) if users.size else 0.0, float(conv_t.mean()) if users.size else 0.0
    n_t, n_c = int(treat.sum()), int((~treat).sum())
    truth = {
        "experiment_id": C.EXPERIMENT_ID,
        "start_date_index": w0,
        "end_date_index_exclusive": w1,
        "assignment": "SplitMix64(crc32(experiment_id)<<32 XOR customer_id) % 100 < 50 -> treatment",
        "unit": "customer; assigned and exposed at their first logged-in session in the window",
        "conversion_definition": "customer placed >= 1 order in a session started in the window "
                                 "(all such sessions are at or after the exposure)",
        "purchase_prob_multiplier": C.EXPERIMENT_PURCHASE_MULTIPLIER,
        "expected_conversion": {"control": round(exp_c, 6), "treatment": round(exp_t, 6)},
        "true_relative_lift": round(exp_t / exp_c - 1, 6) if exp_c else None,
        "assigned": {"control": n_c, "treatment": n_t},
        "exposed": {"control": n_c, "treatment": n_t},
        "converted": {"control": int(converted[~treat].sum()), "treatment": int(converted[treat].sum())},
        "observed_conversion": {
            "control": round(float(converted[~treat].mean()), 6) if n_c else None,
            "treatment": round(float(converted[treat].mean()), 6) if n_t else None,
        },
    }
    return truth, exposure_sessions, treat
