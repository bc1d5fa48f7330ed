"""Code references: every asset in the UI links to the file that defines it (its "Code source").

dbt assets get theirs from dagster-dbt (the model's ``.sql``, a seed's ``.csv``, a snapshot's
``.yml``; ``enable_code_references`` in ``defs/transform/translator.py``). Every other asset gets
the file and line of the function that computes it, and can also link the file that declares it
(a raw table's contract). Each ``definitions.py`` passes its assets through ``with_code_references``.

Local paths only: "Open in editor" needs nothing else, and the repository has no remote that
``dg.link_code_references_to_git`` could point at.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

CODE_REFERENCES = "dagster/code_references"


def with_code_references(
    assets: Sequence[dg.AssetsDefinition], declared_in: Mapping[dg.AssetKey, Path] | None = None
) -> list[dg.AssetsDefinition]:
    """``assets`` with a code reference on every key; ``declared_in`` adds a file per key, listed first."""
    declared_in = declared_in or {}
    with warnings.catch_warnings():
        # The code-reference API is beta: the warning would be printed by every process that
        # loads the definitions (each run), saying nothing new.
        warnings.simplefilter("ignore", dg.BetaWarning)
        return [_referenced(asset, declared_in) for asset in assets]


def _referenced(asset: dg.AssetsDefinition, declared_in: Mapping[dg.AssetKey, Path]) -> dg.AssetsDefinition:
    if all(CODE_REFERENCES in asset.metadata_by_key.get(key, {}) for key in asset.keys):
        return asset  # dbt: the model's own file
    (asset,) = dg.with_source_code_references([asset])

    def add_declaration(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.key not in declared_in:
            return spec
        function = spec.metadata[CODE_REFERENCES].code_references
        declaration = dg.LocalFileCodeReference(file_path=str(declared_in[spec.key]))
        return spec.replace_attributes(
            metadata={**spec.metadata, CODE_REFERENCES: dg.CodeReferencesMetadataValue(code_references=[declaration, *function])}
        )

    return asset.map_asset_specs(add_declaration) if declared_in else asset
