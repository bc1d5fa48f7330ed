"""The dbt project's layout rules, read from its manifest (no warehouse needed).

Data flows one way, staging → intermediate → marts (dbt-labs/jaffle-shop's layering):
staging reads sources, intermediate reads staging, marts read any layer below or beside them.
Each model is documented in the ``.yml`` of its own name, beside its ``.sql``.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest

from analytics_platform.defs.transform.project import ensure_manifest

LAYERS = {"staging": {"source"}, "intermediate": {"staging", "seed"}, "marts": {"staging", "intermediate", "marts", "seed"}}


@pytest.fixture(scope="module")
def models() -> dict[str, dict]:
    nodes = json.loads(ensure_manifest().read_text())["nodes"]
    return {uid: node for uid, node in nodes.items() if node["resource_type"] == "model"}


def layer(node: dict) -> str:
    return node["config"]["meta"]["layer"]


def kind(unique_id: str, models: dict[str, dict]) -> str:
    """``source``, ``seed``, … or the layer (``meta.layer``) of a model."""
    return layer(models[unique_id]) if unique_id in models else unique_id.split(".")[0]


def test_every_model_is_in_a_layer_and_its_schema(models: dict[str, dict]):
    assert {layer(node) for node in models.values()} == set(LAYERS)
    assert all(node["schema"] == layer(node) for node in models.values())


def test_each_layer_reads_only_the_layers_below_it(models: dict[str, dict]):
    wrong = {
        node["name"]: sorted(dep for dep in node["depends_on"]["nodes"] if kind(dep, models) not in LAYERS[layer(node)])
        for node in models.values()
    }
    assert {name: deps for name, deps in wrong.items() if deps} == {}


def test_each_model_has_its_own_yml_beside_it(models: dict[str, dict]):
    elsewhere = {
        node["name"]: node["patch_path"]
        for node in models.values()
        if (node["patch_path"] or "").split("://", 1)[-1] != str(PurePosixPath(node["original_file_path"]).with_suffix(".yml"))
    }
    assert elsewhere == {}
