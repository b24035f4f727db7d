"""The rail statements planned again when Neo4j answers after an outage (issue 18).

Neo4j plans a statement when a transaction first runs it, and keeps the plan by the
statement's text and the types of its parameters (null, a string, a list and an empty list
each count apart). A Neo4j just started has an empty plan cache and a cold JVM: there a
home rail's one round trip, ``cypher/rails/home.cypher``, took 7-10 s to plan on two cores,
so until this warm-up has run the home rail takes smaller statements
(:meth:`api.rails.service.RailsService.home`). :func:`plan_rail_statements` runs
``cypher/rails/eligible.cypher`` and ``home.cypher`` one at a time, once the first rail has
succeeded (:mod:`api.rails.admission` starts it then), so that Neo4j plans each early
rather than for whichever rail needs it first. Each runs with parameters of the types its
callers pass, and reads nothing: its ids are no node's. It runs them rather than
``EXPLAIN`` them because Neo4j caches the plan of an ``EXPLAIN`` apart from the plan of the
statement run: an ``EXPLAIN`` left the rails to plan their statements again (measured:
0.9 s on a warm Neo4j, docs/benchmarks.md "Neo4j stopped under load").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver, RoutingControl

from api.model import ServingModel
from api.rails.assembly import OFFERS_PER_ITEM
from api.rails.eligibility import Fatigue, eligible_parameters
from api.rails.precomputed import home_parameters
from graph.queries import query
from graph.settings import Settings

PLACEHOLDER = "warm-up"
"""The user, program, series and country of the parameters: a string no id is expected to
be (had a user this id, the warm-up would only read its rails)."""


def eligibility_statement(settings: Settings, fatigue: Fatigue) -> tuple[str, dict[str, Any]]:
    """cypher/rails/eligible.cypher with parameters of the types a home rail passes (the same
    types for every call: see :data:`api.rails.eligibility.NO_COUNTRY`)."""
    return "rails/eligible", eligible_parameters(
        settings, fatigue, user_id=PLACEHOLDER, program_ids=[PLACEHOLDER], now=datetime.now(UTC),
        rail="home", country=PLACEHOLDER, check_availability=True, max_offers=None, kinds=None,
        skip_series=[PLACEHOLDER],
    )  # fmt: skip


def rail_statements(
    settings: Settings, fatigue: Fatigue, model: ServingModel | None, *, min_history: int
) -> list[tuple[str, dict[str, Any]]]:
    """The statements to plan, in order, each with parameters of the types a home rail
    passes: the eligibility of the rest of its list first (:func:`eligibility_statement`),
    then home.cypher itself (a cached plan already when the first rail to succeed was a
    home rail)."""
    now = datetime.now(UTC)
    candidates = min(settings.candidates, len(model.program_ids)) if model else settings.candidates
    home = home_parameters(
        settings, fatigue, PLACEHOLDER, now, version=model.version if model else None,
        min_history=min_history, candidates=candidates,
        max_offers=OFFERS_PER_ITEM * settings.rail_size, country=None,
        ranker=model is not None and model.ranker is not None,
    )  # fmt: skip
    return [eligibility_statement(settings, fatigue), ("rails/home", home)]


async def plan_rail_statements(
    driver: AsyncDriver, settings: Settings, statements: list[tuple[str, dict[str, Any]]]
) -> None:
    """Run each of ``statements`` (see :func:`rail_statements`), one at a time: reads whose
    rows are dropped."""
    for name, params in statements:
        await driver.execute_query(
            query(name), params, database_=settings.neo4j_database, routing_=RoutingControl.READ
        )
