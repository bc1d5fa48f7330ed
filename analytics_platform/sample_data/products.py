"""Product catalogue plus one later price-correction delivery.

Prices are kept in integer cents so order totals and revenue are exact.
The correction file changes a few list prices mid-run; orders placed after
the correction use the new price, which is what a price-history-aware
model has to reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import config as C

CATEGORIES = {  # name -> (median price EUR, adjectives/nouns pool index)
    "electronics": 89.0, "home": 34.0, "fashion": 42.0, "beauty": 19.0,
    "sports": 48.0, "toys": 24.0, "books": 14.0, "garden": 29.0,
}
ADJECTIVES = ("Classic", "Smart", "Eco", "Pro", "Mini", "Deluxe", "Urban", "Nordic",
              "Vintage", "Ultra", "Soft", "Compact")
NOUNS = {
    "electronics": ("Headphones", "Speaker", "Charger", "Camera", "Watch"),
    "home": ("Lamp", "Mug", "Pillow", "Vase", "Blanket"),
    "fashion": ("Jacket", "Sneakers", "Scarf", "Backpack", "Shirt"),
    "beauty": ("Serum", "Lotion", "Shampoo", "Perfume", "Soap"),
    "sports": ("Yoga Mat", "Bottle", "Dumbbell", "Racket", "Helmet"),
    "toys": ("Puzzle", "Robot", "Plush Bear", "Blocks", "Kite"),
    "books": ("Cookbook", "Novel", "Atlas", "Journal", "Comic"),
    "garden": ("Planter", "Hose", "Shears", "Seeds", "Bench"),
}
N_PRODUCTS = 240
CORRECTION_SHARE = 0.05


@dataclass
class Products:
    """Catalogue arrays indexed by ``product_id - 1``."""

    product_id: np.ndarray
    name: list[str]
    category: list[str]
    price_cents: np.ndarray  # initial list price
    cost_cents: np.ndarray
    popularity: np.ndarray  # sampling weights (sum 1)
    corrected: np.ndarray  # product indices whose price changes
    new_price_cents: np.ndarray  # price after the correction (all products)
    correction_day: int
    correction_s: int  # seconds since start when the new prices apply

    def price_at(self, idx: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        """Unit price (cents) of product index ``idx`` at time ``t_s``."""
        return np.where(t_s >= self.correction_s, self.new_price_cents[idx],
                        self.price_cents[idx])


def build_products(seed: int, days: int) -> Products:
    rng = C.rng(seed, "products")
    cats = list(CATEGORIES)
    cat_idx = rng.integers(0, len(cats), N_PRODUCTS)
    median = np.array([CATEGORIES[c] for c in cats])[cat_idx]
    price = np.round(median * rng.lognormal(0, 0.45, N_PRODUCTS), 0) - 0.01
    price_cents = np.maximum(np.round(price * 100).astype(np.int64), 199)
    cost_cents = np.round(price_cents * rng.uniform(0.35, 0.7, N_PRODUCTS)).astype(np.int64)
    adj = rng.integers(0, len(ADJECTIVES), N_PRODUCTS)
    noun = rng.integers(0, 5, N_PRODUCTS)
    category = [cats[c] for c in cat_idx]
    name = [f"{ADJECTIVES[a]} {NOUNS[c][n]} {i + 1:03d}"
            for i, (a, c, n) in enumerate(zip(adj, category, noun, strict=False))]
    popularity = rng.pareto(1.2, N_PRODUCTS) + 0.05
    popularity /= popularity.sum()

    n_corr = max(1, int(round(N_PRODUCTS * CORRECTION_SHARE)))
    corrected = np.sort(rng.choice(N_PRODUCTS, n_corr, replace=False))
    new_price = price_cents.copy()
    factor = rng.choice([0.85, 0.9, 1.1, 1.15], n_corr)
    new_price[corrected] = (np.round(price_cents[corrected] * factor / 100) * 100 - 1).astype(np.int64)
    correction_day = max(1, days // 2)
    return Products(
        product_id=np.arange(1, N_PRODUCTS + 1), name=name, category=category,
        price_cents=price_cents, cost_cents=cost_cents, popularity=popularity,
        corrected=corrected, new_price_cents=np.maximum(new_price, 199),
        correction_day=correction_day, correction_s=correction_day * C.DAY_S + 6 * 3600,
    )
