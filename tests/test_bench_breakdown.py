"""The bench's ingest breakdown times functions by name: every name must still exist, once."""

from bench.worker.breakdown import TARGETS, resolve_all


def test_every_breakdown_target_exists_and_is_timed_once():
    resolved = resolve_all()
    assert len(resolved) == len(TARGETS)
    assert all(callable(function) for _, _, function in resolved)
