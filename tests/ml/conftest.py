"""Shared inputs of the ML tests: the suite's generated shop (``sample_shop`` in tests/conftest.py:
seed 42, scale 1, 120 days) as canonical relations.

The algorithms are pure functions over DuckDB relations (see ``ml_assets/common/inputs.py``), so most
tests feed them generator frames directly and compare with the generator's planted truth; one
module (``test_assets.py``) runs the Dagster assets on a real ingested + dbt-built warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl
import pytest

from analytics_platform.sample_data import ShopData
from ml_assets.churn import features, training
from ml_assets.common import inputs


def relations(tables: dict[str, pl.DataFrame]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    inputs.register_frames(con, tables)
    return con


@dataclass
class ChurnSplit:
    history_start: dt.datetime
    data_end: dt.datetime
    train_cutoffs: list[dt.datetime]
    validation_cutoff: dt.datetime
    train: pl.DataFrame
    validation: pl.DataFrame


@pytest.fixture(scope="session")
def shop(sample_shop: ShopData) -> ShopData:
    return sample_shop


@pytest.fixture(scope="session")
def shop_con(shop: ShopData) -> duckdb.DuckDBPyConnection:
    con = relations(shop.tables)
    yield con
    con.close()


@pytest.fixture(scope="session")
def churn_split(shop_con: duckdb.DuckDBPyConnection) -> ChurnSplit:
    start, end = features.history_bounds(shop_con)
    train_cutoffs, validation = features.training_cutoffs(start, end)
    return ChurnSplit(start, end, train_cutoffs, validation, features.feature_snapshots(shop_con, train_cutoffs),
                      features.feature_snapshots(shop_con, [validation]))


@pytest.fixture(scope="session")
def trained(churn_split: ChurnSplit) -> training.TrainResult:
    return training.train(churn_split.train, churn_split.validation)
