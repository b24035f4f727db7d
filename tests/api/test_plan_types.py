"""Every call of a rail statement passes its parameters with the same types (pure).

Neo4j keeps a plan per statement and set of parameter types, a null and an empty list each
counting as a type of its own: a call whose country is unknown, or whose rail has offered
no series yet, would plan the statement again (seconds on a Neo4j just started, issue 18),
and the warm-up after an outage plans only one set of types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.rails.eligibility import NO_FATIGUE, eligible_parameters
from api.rails.precomputed import home_parameters
from api.rails.warm_up import rail_statements
from graph.settings import Settings

NOW = datetime(2025, 1, 7, 21, 0, tzinfo=UTC)


def types(params: dict[str, Any]) -> dict[str, str]:
    """The type of each parameter as Neo4j's plan cache tells them apart."""

    def kind(value: Any) -> str:
        if isinstance(value, list):
            return "empty list" if not value else f"list of {type(value[0]).__name__}"
        return type(value).__name__

    return {name: kind(value) for name, value in params.items()}


def eligible(settings: Settings, *, country: str | None, skip_series: list[str]) -> dict[str, Any]:
    return eligible_parameters(
        settings, NO_FATIGUE, user_id="u1", program_ids=["p1", "p2"], now=NOW, rail="home",
        country=country, check_availability=True, max_offers=40, kinds=None,
        skip_series=skip_series,
    )  # fmt: skip


@pytest.mark.parametrize("default_country", [None, "FR"])
def test_eligibility_calls_pass_one_set_of_types(default_country: str | None) -> None:
    settings = Settings.with_fields(default_country=default_country)
    calls = [
        eligible(settings, country=country, skip_series=series)
        for country in (None, "BE")
        for series in ([], ["s1", "s2"])
    ]
    warm_up = dict(rail_statements(settings, NO_FATIGUE, None, min_history=3))
    expected = types(warm_up["rails/eligible"])
    for params in calls:
        assert types(params) == expected
    # An unknown country and no series offered mean what they meant as null and [].
    unknown = eligible(settings, country=None, skip_series=[])
    assert unknown["country"] == (default_country or "")
    assert set(unknown["skip_series"]) == {""}


def test_home_reads_pass_one_set_of_types_whatever_the_country() -> None:
    settings = Settings()

    def read(country: str | None) -> dict[str, str]:
        return types(home_parameters(
            settings, NO_FATIGUE, "u1", NOW, version="v1", min_history=3, candidates=200,
            max_offers=200, country=country, ranker=True,
        ))  # fmt: skip

    assert read(None) == read("BE")
