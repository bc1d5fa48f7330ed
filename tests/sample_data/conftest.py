"""Shared fixtures: one small generated shop, written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from analytics_platform.sample_data import ShopData, generate, write_landing

CONTRACTS = Path(__file__).resolve().parents[2] / "analytics_platform" / "defs" / "ingestion" / "contracts"

# big enough that daily anomalies stand out of Poisson noise, small enough to be fast
SEED, SCALE, DAYS, START = 7, 1.0, 70, "2026-01-01"


@pytest.fixture(scope="session")
def contracts() -> dict[str, dict]:
    out = {}
    for path in sorted(CONTRACTS.glob("*.yaml")):
        c = yaml.safe_load(path.read_text())
        out[f"{c['source']}.{c['table']}"] = c
    return out


@pytest.fixture(scope="session")
def shop() -> ShopData:
    return generate(seed=SEED, scale=SCALE, days=DAYS, start_date=START)


@pytest.fixture(scope="session")
def landing(shop: ShopData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    write_landing(shop, out)
    return out
