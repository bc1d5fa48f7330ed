"""Which column a dataset's model predicts: named by the user, or proposed by the profile.

**Named**: one small YAML per dataset, ``<datasets_dir>/<dataset>.yml`` (``datasets/`` in the
project; ``ANALYTICS_DATASETS_DIR`` moves it), format in ``datasets/README.md``::

    target: tip              # required: the column to predict
    exclude: [total_bill]    # optional: columns never used as features (leaks, late-known values)

A file that names a column the dataset does not have, or a column whose role cannot be predicted
(an identifier, free text, a timestamp), is an error that says so and lists what would do.

**Proposed** when no file names one: the one column whose name says it is an outcome (its last
word is one of ``OUTCOME_WORDS``: ``target``, ``label``, ``class``, ``outcome``, ``churned`` …) and
whose role is a measure or a category. Two such columns, or none, is no proposal: the reason
says which, and the dashboard says how to name a target. Nothing else is ever guessed.

The task follows the target's role: a measure is regressed, a category (flags, classes) classified.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analytics_platform.defs.reports.profiles.roles import words

OUTCOME_WORDS = ("target", "label", "class", "outcome", "y", "response", "churn", "churned", "survived", "fraud")
PREDICTABLE_ROLES = {"measure": "regression", "category": "classification"}
KEYS = {"target", "exclude"}


class TargetError(ValueError):
    """A dataset YAML that cannot be honoured; the message names the file and what would work."""


@dataclass(frozen=True)
class Target:
    column: str | None  # None: no model, ``reason`` says why
    task: str | None  # regression | classification
    source: str  # file | proposed | none
    reason: str
    exclude: tuple[str, ...] = field(default=())
    spec_file: str | None = None


def spec_path(datasets_dir: Path, dataset: str) -> Path:
    return Path(datasets_dir) / f"{dataset}.yml"


def how_to_name(dataset: str, datasets_dir: Path) -> str:
    return f"To train one, name the column to predict in `{spec_path(datasets_dir, dataset)}`: one line, `target: <column>`."


def choose(profile: dict[str, Any], datasets_dir: Path) -> Target:
    """The dataset's target: from its YAML if there is one (errors raise ``TargetError``), else proposed."""
    path = spec_path(datasets_dir, profile["dataset"])
    if path.is_file():
        return _from_file(profile, path)
    return _proposed(profile, datasets_dir)


def _columns(profile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in profile["columns"]}


def _missing(path: Path, what: str, names: list[str], columns: dict[str, dict[str, Any]]) -> str:
    hints = [f"`{n}`: did you mean " + " or ".join(f"`{m}`" for m in difflib.get_close_matches(n, list(columns), n=2)) + "?"
             for n in names if difflib.get_close_matches(n, list(columns), n=1)]
    listed = ", ".join(f"`{c}`" for c in columns)
    return f"{path} names {what} {', '.join(f'`{n}`' for n in names)}, which the dataset does not have. " + " ".join(hints) + f" Its columns: {listed}."


def _from_file(profile: dict[str, Any], path: Path) -> Target:
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise TargetError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("target"), str):
        raise TargetError(f"{path} must be a mapping with `target: <column>` (and optionally `exclude: [<column>, …]`).")
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise TargetError(f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(KEYS))}.")
    exclude = spec.get("exclude") or []
    if not isinstance(exclude, list) or not all(isinstance(x, str) for x in exclude):
        raise TargetError(f"{path}: `exclude` must be a list of column names.")
    columns = _columns(profile)
    name = spec["target"]
    if name not in columns:
        raise TargetError(_missing(path, "the target", [name], columns))
    absent = [x for x in exclude if x not in columns]
    if absent:
        raise TargetError(_missing(path, "excluded column(s)", absent, columns))
    role = columns[name].get("role")
    if role not in PREDICTABLE_ROLES:
        fits = ", ".join(f"`{c}`" for c, col in columns.items() if col.get("role") in PREDICTABLE_ROLES)
        raise TargetError(f"{path} names `{name}` as the target, but its role is {role}: only a measure (regression) or a category "
                          f"(classification) can be predicted. Columns that can: {fits or 'none'}.")
    return Target(name, PREDICTABLE_ROLES[role], "file", f"named in {path}", tuple(exclude), str(path))


def _proposed(profile: dict[str, Any], datasets_dir: Path) -> Target:
    named = [c for c in profile["columns"] if (words(c["name"]) or [""])[-1] in OUTCOME_WORDS]
    usable = [c for c in named if c.get("role") in PREDICTABLE_ROLES]
    how = how_to_name(profile["dataset"], datasets_dir)
    if len(usable) == 1:
        c = usable[0]
        return Target(c["name"], PREDICTABLE_ROLES[c["role"]], "proposed",
                      f"proposed: `{c['name']}` is the only column named like an outcome ({', '.join(OUTCOME_WORDS)}) and is a {c['role']}. "
                      f"To predict another column, name it in `{spec_path(datasets_dir, profile['dataset'])}`.")
    if len(usable) > 1:
        names = ", ".join(f"`{c['name']}`" for c in usable)
        return Target(None, None, "none", f"No model: {names} are all named like an outcome, so none is clearly the one. {how}")
    if named:
        c = named[0]
        return Target(None, None, "none", f"No model: `{c['name']}` is named like an outcome but is a {c.get('role')}, which cannot be "
                      f"predicted. {how}")
    return Target(None, None, "none", f"No model: no column is clearly an outcome (none is named {', '.join(OUTCOME_WORDS)}). {how}")
