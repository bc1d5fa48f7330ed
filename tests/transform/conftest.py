"""One small generated shop, ingested and built once per session.

The build happens in two steps, as in production: the first ~85% of the daily files, a full
``dbt build``, then the remaining days (late orders, corrections and events of sessions that
began the day before arrive in them) and an incremental ``dbt build``. The incremental facts are
then captured and rebuilt with ``full_refresh`` for comparison (with the incremental staging
tables of the click-stream). The last ad-spend file is held
back for the automation test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from analytics_platform.sample_data import ShopData, generate, write_landing

from .support import INCREMENTAL_MODELS, build, file_day, ingest, landed_files, query

SEED, SCALE, DAYS = 42, 0.05, 30
FIRST_BATCH_UNTIL = "2026-01-26"  # files of days up to this one arrive first


@dataclass
class Shop:
    data: ShopData
    landing: Path

    @property
    def truth(self) -> dict:
        return self.data.ground_truth


@dataclass
class Built:
    state: Path
    instance: dg.DagsterInstance
    held_back: list[str]
    first_build: dg.ExecuteInProcessResult
    incremental_build: dg.ExecuteInProcessResult
    incremental: dict[str, pl.DataFrame] = field(default_factory=dict)
    full_refresh: dict[str, pl.DataFrame] = field(default_factory=dict)


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    data = generate(seed=SEED, scale=SCALE, days=DAYS)
    landing = tmp_path_factory.mktemp("landing")
    write_landing(data, landing)
    return Shop(data, landing)


def _incremental_tables(state: Path) -> dict[str, pl.DataFrame]:
    return {name: query(state, f"SELECT * FROM {name} ORDER BY {key}") for name, key in INCREMENTAL_MODELS.items()}


@pytest.fixture(scope="session")
def built(shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> Built:
    state = tmp_path_factory.mktemp("state")
    instance = dg.DagsterInstance.ephemeral()
    files = landed_files(shop.landing)
    held_back = [f for f in files if f.startswith("marketing/ad_spend/")][-1:]
    first = [f for f in files if file_day(f) <= FIRST_BATCH_UNTIL and f not in held_back]
    rest = [f for f in files if file_day(f) > FIRST_BATCH_UNTIL and f not in held_back]

    ingest(state, shop.landing, first, instance)
    first_build = build(state, instance)
    ingest(state, shop.landing, rest, instance)
    incremental_build = build(state, instance)
    built = Built(state, instance, held_back, first_build, incremental_build, incremental=_incremental_tables(state))
    build(state, instance, selection=[n.split(".")[1] for n in INCREMENTAL_MODELS], full_refresh=True)
    built.full_refresh = _incremental_tables(state)
    return built
