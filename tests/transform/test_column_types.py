"""The column types the catalog shows are the warehouse's own.

Dagster's asset page lists a dbt model's columns with the ``data_type`` its yml declares (through
the manifest). These tests keep that list true: a column a model gains without being declared, a
declared column it lost, or a type that drifts (a cast changed, a ``sum`` that became HUGEINT)
fails here, for every model, seed and snapshot.
"""

from __future__ import annotations

import re

import dagster as dg

from analytics_platform.defs.transform.assets import dbt_models

from .conftest import Built
from .support import query


def column_schemas() -> dict[str, dg.TableSchema]:
    """Relation (``lake.<schema>.<table>``) → the column schema Dagster shows, per dbt asset."""
    return {spec.metadata["dagster/table_name"]: spec.metadata["dagster/column_schema"] for spec in dbt_models.specs}


def normalised(data_type: str) -> str:
    return re.sub(r"\s+", "", data_type).upper()


def test_declared_column_types_are_the_warehouse_types(built: Built):
    declared = {
        (relation, column.name): normalised(column.type)
        for relation, schema in column_schemas().items()
        for column in schema.columns
    }
    relations = {relation for relation, _ in declared}
    in_warehouse = query(built.state, """
        SELECT table_catalog || '.' || table_schema || '.' || table_name, column_name, data_type
        FROM information_schema.columns
    """).rows()
    actual = {
        (relation, column): normalised(data_type)
        for relation, column, data_type in in_warehouse
        if relation in relations
    }
    assert declared == actual


def test_fct_orders_column_schema_has_types():
    schema = column_schemas()["lake.marts.fct_orders"]
    assert schema.columns and all(column.type not in ("", "?") for column in schema.columns)
