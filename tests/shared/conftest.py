"""The shared mode against real servers: PostgreSQL and SeaweedFS started once per session by
``analytics_platform.shared.servers`` (no mocks). A server that cannot start fails the tests,
never skips them. Each test gets a DuckLake of its own on them (a database + a data prefix).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from analytics_platform.shared.servers import SharedServers, shared_servers


@pytest.fixture(scope="session")
def servers() -> Iterator[SharedServers]:
    with shared_servers() as running:
        yield running


@pytest.fixture
def shared_env(servers: SharedServers, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process in shared mode on a fresh DuckLake named after the test; returns the variables."""
    name = "t_" + re.sub(r"\W+", "_", request.node.name).lower()[:50]
    env = servers.lake_env(name)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def secrets_of(env: dict[str, str]) -> list[str]:
    return [env["PGPASSWORD"], env["AWS_SECRET_ACCESS_KEY"]]
