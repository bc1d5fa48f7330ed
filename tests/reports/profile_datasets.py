"""The datasets the profile tests land: real public datasets shipped inside installed packages
(plotly, matplotlib, scikit-learn) in several shapes, and one generated dataset with planted
truths (a correlation, a growth trend, outliers, empty values, category shares) that the tests
check the profile's statistics and insights against.
"""

from __future__ import annotations

import datetime as dt
import gzip
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np

PLOTLY_DATA = Path(__import__("plotly").__file__).parent / "package_data" / "datasets"
MPL_DATA = Path(__import__("matplotlib").__file__).parent / "mpl-data" / "sample_data"
RUN_CONFIG = {"ops": {"raw_tables": {"config": {"settle_seconds": 0}}}}

N = 5000
PLANTED_R = 0.9
PLANTED_GROWTH = 0.5  # amount grows by 50% over the year
OUTLIER_SHARE = 0.05
NULL_SHARE = 0.65
REGIONS = {"north": 0.4, "south": 0.3, "east": 0.2, "west": 0.1}
XSS = "</script><script>alert(1)</script>"

DATASETS = ["planted__orders", "tips", "gapminder", "wind", "mpl_stocks", "breast_cancer"]  # materialized through Dagster
ALL = [*DATASETS, "msft"]  # msft: profiled by the function alone (no Dagster run)


def planted_frame(seed: int = 7) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    day = np.sort(rng.integers(0, 366, N))
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in day]
    amount = 100 * (1 + PLANTED_GROWTH * day / 365) + rng.normal(0, 8, N)
    z1, z2 = rng.standard_normal(N), rng.standard_normal(N)
    ad_spend = 500 + 100 * z1
    visits = 2000 + 300 * (PLANTED_R * z1 + math.sqrt(1 - PLANTED_R**2) * z2)
    delivery = rng.normal(45, 5, N)
    outliers = rng.choice(N, int(OUTLIER_SHARE * N), replace=False)
    delivery[outliers] = rng.uniform(150, 300, len(outliers))
    coupon = rng.choice(["SPRING10", "VIP20", "WELCOME5"], N).astype(object)
    coupon[rng.choice(N, int(NULL_SHARE * N), replace=False)] = None
    region = rng.permutation(np.repeat(list(REGIONS), [int(s * N) for s in REGIONS.values()]))
    shipped = [(d + dt.timedelta(days=int(k))).strftime("%d/%m/%Y") for d, k in zip(dates, rng.integers(1, 6, N), strict=False)]
    note = rng.choice(["ok", "late", XSS], N, p=[0.8, 0.15, 0.05])
    return {
        "order_id": list(range(1, N + 1)), "order_date": [d.isoformat() for d in dates], "region": list(region),
        "amount": [round(float(a), 2) for a in amount], "ad_spend": [round(float(a), 3) for a in ad_spend],
        "visits": [round(float(v), 3) for v in visits], "delivery_minutes": [round(float(v), 2) for v in delivery],
        "coupon_code": list(coupon), "shipped_on": shipped, "note": list(note),
    }


def write_csv(path: Path, frame: dict[str, list[Any]]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(frame)
        writer.writerows(zip(*frame.values(), strict=False))


def land_real(landing: Path) -> dict[str, Path]:
    """Real datasets from installed packages, in several shapes."""
    from sklearn.datasets import load_breast_cancer

    files = {
        "tips": landing / "tips" / "tips.csv",  # mixed: measures, categories, a yes/no flag
        "gapminder": landing / "gapminder" / "gapminder.csv",  # long panel: country × year
        "wind": landing / "wind" / "wind.csv",  # mostly text
        "mpl_stocks": landing / "mpl_stocks" / "Stocks.csv",  # wide time series, comment line, gaps
        "msft": landing / "msft" / "msft.csv",  # dates as text (19-Sep-03)
        "breast_cancer": landing / "breast_cancer" / "breast_cancer.csv",  # wide numeric (31 columns)
    }
    for name in ("tips", "gapminder", "wind"):
        files[name].parent.mkdir(parents=True)
        files[name].write_bytes(gzip.decompress((PLOTLY_DATA / f"{name}.csv.gz").read_bytes()))
    for name, source in (("mpl_stocks", "Stocks.csv"), ("msft", "msft.csv")):
        files[name].parent.mkdir(parents=True)
        shutil.copy(MPL_DATA / source, files[name])
    files["breast_cancer"].parent.mkdir(parents=True)
    load_breast_cancer(as_frame=True).frame.to_csv(files["breast_cancer"], index=False)
    return files


def one_insight(p: dict[str, Any], kind: str, **match: Any) -> dict[str, Any]:
    """The first insight of ``kind`` whose fields equal ``match``; fails listing them all if none does."""
    found = [i for i in p["insights"] if i["kind"] == kind and all(i.get(k) == v for k, v in match.items())]
    assert found, f"no {kind} insight matching {match}: {[i['text'] for i in p['insights']]}"
    return found[0]
