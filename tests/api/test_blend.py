"""The optional blend of model score, audience and newness (pure, no Neo4j)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.rails.sources import blend
from graph.settings import Settings

NOW = datetime(2025, 1, 9, 20, tzinfo=UTC)
DAY = 86400
AUDIENCE = {
    "model_top": {"watchers_week": 0, "first_available": NOW.timestamp() - 30 * DAY},
    "popular": {"watchers_week": 500, "first_available": NOW.timestamp() - 30 * DAY},
    "new": {"watchers_week": 0, "first_available": NOW.timestamp() - 0.5 * DAY},
}
CANDIDATES: list[tuple[str, float | None]] = [("model_top", 0.9), ("popular", 0.5), ("new", 0.1)]


def order(**weights: float) -> list[str]:
    return [p for p, _ in blend(CANDIDATES, AUDIENCE, now=NOW, **weights)]


def test_no_weight_keeps_the_model_order() -> None:
    assert order(popularity=0, freshness=0) == ["model_top", "popular", "new"]


def test_popularity_and_freshness_lift_their_programs() -> None:
    assert order(popularity=0.8, freshness=0)[0] == "popular"
    assert order(popularity=0, freshness=0.8)[0] == "new"
    # Unknown programs (no audience row) count as unwatched and old.
    assert blend([("ghost", 1.0)], {}, now=NOW, popularity=0.5, freshness=0.5) == [("ghost", 0.0)]


def test_weights_above_one_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 1"):
        order(popularity=0.7, freshness=0.5)
    with pytest.raises(ValueError, match="GRAPHRAILS_POPULARITY_BLEND"):
        Settings.with_fields(popularity_blend=0.7, freshness_blend=0.5)
