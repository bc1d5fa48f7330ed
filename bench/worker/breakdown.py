"""Where the ingestion step's time goes: wall time spent inside the loader's functions.

``Breakdown.install()`` replaces each function in ``TARGETS`` with a timer around it (measurement
only: arguments, results and exceptions pass through unchanged). A timer goes on the module
whose global the calling code looks the name up in at call time: ``loader`` holds its own binding
of ``fingerprint`` (imported from ``files``), so wrapping ``files.fingerprint`` would time nothing.

It fails loudly, so the breakdown cannot drift away from the loader unnoticed: a target that does
not exist or is not a function raises, and so does a function reached through two targets (the
same module under two names) or wrapped already. A phase entered again while it is running (a
target calling another target of the same phase) is counted once, by its outermost call.

Some targets are private to their module (``loader._expected_rows``): they are named here, as strings,
because they are the internals the breakdown is about; nothing imports them.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

INGESTION = "analytics_platform.defs.ingestion"
STAGING = ("stage: batched read + validate", "stage: per-file read + validate")


@dataclass(frozen=True)
class Target:
    module: str
    attribute: str
    phase: str
    within: tuple[str, ...] = ()  # phases whose time already includes this one's

    def __str__(self) -> str:
        return f"{self.module}.{self.attribute}"


# The leading spaces of nested phases mark them in the results JSON (the report strips them).
TARGETS = (
    Target(f"{INGESTION}.assets", "landed", "scan landing folder (and prefix)"),
    Target("analytics_platform.warehouse", "connect", "connect + attach DuckLake"),
    Target(f"{INGESTION}.ledger", "ensure_schema", "ensure schema (DDL)"),
    Target(f"{INGESTION}.ledger", "known_stats", "ledger reads"),
    Target(f"{INGESTION}.ledger", "loaded_hashes", "ledger reads"),
    Target(f"{INGESTION}.ledger", "current_versions", "ledger reads"),
    Target(f"{INGESTION}.loader", "fingerprint", "fingerprint (hash + count lines)"),
    Target(f"{INGESTION}.loader", "stage_batch", STAGING[0]),
    Target(f"{INGESTION}.loader", "stage_file", STAGING[1]),
    Target(f"{INGESTION}.loader", "_expected_rows", "stage: per-file record count"),
    # Called from both staging paths (batch.py imports them from readers too).
    Target(f"{INGESTION}.readers", "sniff_csv_dialect", "  of which: sniff dialect", within=STAGING),
    Target(f"{INGESTION}.readers", "validate_staged", "  of which: validate (cast probes)", within=STAGING),
    Target(f"{INGESTION}.loader", "transaction", "commit: insert + ledger (transaction)"),
    Target(f"{INGESTION}.loader", "quarantine_file", "quarantine"),
    Target(f"{INGESTION}.assets", "run_table_checks", "table checks (reconciliation, pk, not-null)"),
)


def resolve(target: Target) -> tuple[ModuleType, Callable]:
    """The module and the function ``target`` names; raises if it is missing or not a plain function."""
    module = importlib.import_module(target.module)
    function = getattr(module, target.attribute, None)
    if function is None:
        raise AttributeError(f"bench breakdown: {target} does not exist; update TARGETS in {__name__} to what the loader has now")
    if getattr(function, "__bench_phase__", None) is not None:
        raise RuntimeError(f"bench breakdown: {target} is wrapped already (phase {function.__bench_phase__!r})")
    if not inspect.isfunction(function):
        raise TypeError(f"bench breakdown: {target} is a {type(function).__name__}, not a function")
    return module, function


def resolve_all(targets: tuple[Target, ...] = TARGETS) -> list[tuple[Target, ModuleType, Callable]]:
    """Every target resolved, and no function reached through two of them."""
    resolved, seen = [], {}
    for target in targets:
        module, function = resolve(target)
        if id(function) in seen:
            raise ValueError(f"bench breakdown: {target} and {seen[id(function)]} are the same function: it would be timed twice")
        seen[id(function)] = target
        resolved.append((target, module, function))
    return resolved


class Breakdown:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.within: dict[str, tuple[str, ...]] = {}
        self._depth: dict[str, int] = defaultdict(int)

    def install(self, targets: tuple[Target, ...] = TARGETS) -> None:
        """Wrap every target; all are checked before the first one is replaced."""
        for target, module, function in resolve_all(targets):
            self.within[target.phase] = target.within
            setattr(module, target.attribute, self._timed(target.phase, function))

    @contextlib.contextmanager
    def _clock(self, phase: str) -> Iterator[None]:
        self._depth[phase] += 1
        started = time.perf_counter()
        try:
            yield
        finally:
            self._depth[phase] -= 1
            if not self._depth[phase]:
                self.seconds[phase] += time.perf_counter() - started

    def _timed(self, phase: str, function: Callable) -> Callable:
        if inspect.isgeneratorfunction(function):
            # A generator's work happens while it is iterated: time each step, not the consumer's
            # handling of what it yields (Dagster processing each check result).
            @functools.wraps(function)
            def steps(*args, **kwargs):
                self.calls[phase] += 1
                inner = function(*args, **kwargs)
                try:
                    while True:
                        with self._clock(phase):
                            try:
                                item = next(inner)
                            except StopIteration as stop:
                                return stop.value
                        yield item
                finally:
                    inner.close()

            wrapper = steps
        else:
            @functools.wraps(function)
            def call(*args, **kwargs):
                self.calls[phase] += 1
                with self._clock(phase):
                    return function(*args, **kwargs)

            wrapper = call
        wrapper.__bench_phase__ = phase
        return wrapper

    def phases(self) -> dict[str, float]:
        """Seconds per phase, largest first; a nested phase right after the phases it is part of."""
        by_time = sorted(self.seconds, key=lambda p: -self.seconds[p])
        order = [p for p in by_time if not self.within.get(p)]
        nested = [p for p in by_time if self.within.get(p)]
        for phase in nested:
            parents = [i for i, p in enumerate(order) if p in self.within[phase]]
            at = max(parents) + 1 if parents else len(order)
            while at < len(order) and order[at] in nested:
                at += 1
            order.insert(at, phase)
        return {p: round(self.seconds[p], 3) for p in order}
