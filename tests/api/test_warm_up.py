"""The statements the API plans after a Neo4j outage (api/rails/warm_up.py) plan on the real
Neo4j with the parameters the warm-up gives them."""

from __future__ import annotations

import pytest
from neo4j import Driver

from api.rails.eligibility import NO_FATIGUE
from api.rails.service import MIN_HISTORY
from api.rails.warm_up import rail_statements
from graph.queries import query
from graph.settings import Settings

pytestmark = pytest.mark.neo4j


def test_every_rail_statement_plans_with_the_warm_up_parameters(
    driver: Driver, neo4j_settings: Settings
) -> None:
    statements = rail_statements(neo4j_settings, NO_FATIGUE, None, min_history=MIN_HISTORY)
    assert {name for name, _ in statements} == {"rails/eligible", "rails/home"}
    for name, params in statements:
        # A parameter the statement needs and the warm-up lacks fails the plan.
        _, summary, _ = driver.execute_query(
            "EXPLAIN " + query(name), params, database_=neo4j_settings.neo4j_database
        )
        assert summary.plan is not None, name
