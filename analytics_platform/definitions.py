"""The single place that assembles the platform (`dg dev`, `dagster dev -w workspace.yaml`).

``defs/`` is loaded by convention, as dagster-open-platform does: a folder with a
``definitions.py`` contributes that file's ``defs`` and nothing else; any other module contributes
the definitions it holds (``defs/automation.py``). A new concern is a new folder, with no edit
here. ``ml_assets`` sits outside ``defs/`` (a top-level package, laid out the same way) and is
added here. Resources and the executor are bound here once, from the environment (settings.py),
so every asset sees the same warehouse; ``defs/transform`` brings the ``dbt`` resource.
"""

import importlib
import pkgutil
import warnings
from pathlib import Path
from types import ModuleType

import dagster as dg

import analytics_platform.defs
import ml_assets.definitions
from analytics_platform.resources import WarehouseResource


def load_defs_folder(package: ModuleType = analytics_platform.defs) -> dg.Definitions:
    """The rules of ``dg.load_defs`` (dagster-open-platform's loader), without its cost.

    A folder with a ``definitions.py`` contributes that file's ``Definitions`` and nothing else
    (``load_from_defs_folder`` would also load every module beside it and register each asset,
    sensor and job a second time, without its code reference); any other module contributes its
    ``Definitions`` object, or else what it defines; other folders are searched alike.
    ``dg.load_defs`` also imports every installed dg plugin and builds the JSON schema of each
    component type for the UI's component catalog: ~0.3 s of CPU in every run process at load,
    for a catalog this project does not use (it defines no components).
    """
    folder = Path(package.__file__).parent
    if (folder / "definitions.py").is_file():
        return _module_defs(importlib.import_module(f"{package.__name__}.definitions"))
    parts = []
    for info in sorted(pkgutil.iter_modules([str(folder)]), key=lambda info: info.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        parts.append(load_defs_folder(module) if info.ispkg else _module_defs(module))
    return dg.Definitions.merge(*parts)


def _module_defs(module: ModuleType) -> dg.Definitions:
    found = [value for value in vars(module).values() if isinstance(value, dg.Definitions)]
    if len(found) > 1:
        raise dg.DagsterInvalidDefinitionError(f"{module.__name__} holds {len(found)} Definitions objects; at most one is allowed")
    if found:
        return found[0]
    with warnings.catch_warnings():  # "preview" in 1.13; dg.load_defs calls it for such modules too
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.load_definitions_from_module(module)


defs = dg.Definitions.merge(
    load_defs_folder(),
    ml_assets.definitions.defs,
    dg.Definitions(
        resources={"warehouse": WarehouseResource()},
        # Warehouse steps are cheap to start and share one process well: measured 12.7 s vs 23.4 s
        # for a small dagster+dbt run against the multiprocess executor.
        executor=dg.in_process_executor,
    ),
)
