"""A copy of the dbt project with files added, parsed, and its dbt assets: what the platform
loads after an analytics engineer adds models and the code location reloads."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtProject

from analytics_platform.defs.transform.assets import build_dbt_assets
from analytics_platform.defs.transform.project import DBT_PROJECT, AnalyticsDbtCliResource, dbt_environment, dbt_executable
from analytics_platform.settings import load_settings


def dbt_resource_for(project: DbtProject) -> AnalyticsDbtCliResource:
    return AnalyticsDbtCliResource(project_dir=project, dbt_executable=dbt_executable())


def grow_project(root: Path, files: dict[str, str]) -> DbtProject:
    """``dbt_project/`` copied to ``root`` with ``files`` (relative path → text) added, parsed."""
    shutil.copytree(DBT_PROJECT.project_dir, root, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    project = DbtProject(project_dir=root)
    with dbt_environment(load_settings()):
        dbt_resource_for(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


def grown_dbt_assets(project: DbtProject) -> dg.AssetsDefinition:
    return build_dbt_assets(project.manifest_path, project)
