"""The API takes what start-up built out of the cyclic GC's sight, and gives it back at
shutdown (pure, no Neo4j)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.main import GC_GEN0_THRESHOLD, settle_garbage_collector


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_start_up_objects_are_frozen_and_young_collections_are_rarer(restore_gc: None) -> None:
    kept = [{"id": i} for i in range(1000)]  # what start-up keeps
    settle_garbage_collector()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold()[0] == GC_GEN0_THRESHOLD
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
