"""The ranking stage through the API, on the hand-built ``ranking_graph.cypher`` and the real
Neo4j: the home rail in P(complete) order when the serving version has a ranker (each
probability the one training's features give), retrieval order without one, and the
fallback when a feature's source is missing."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from api.experiments import Assignment
from api.metrics import Metrics
from api.model import ServingModel
from api.rails.ranking import MISSING_FEATURES, RankingStage
from api.rails.service import RailsService
from api.rails.types import Offer, Rail, RailItem, Reason, UserContext
from experiments.arms import Arm
from gnn.artifacts import ModelVersion
from gnn.idmap import IdMap
from gnn.ranker import FEATURES, Ranker, ranking_features
from gnn.ranker_train import (
    Examples,
    RankerConfig,
    fit_ranker,
    read_audience,
    read_programs,
    read_users,
)
from graph.driver import open_async_driver
from graph.settings import Settings
from tests.api.scratch_graph import scratch_graph
from tests.api.test_events import client_for
from tests.api.test_home_stored import RoundTrips

pytestmark = pytest.mark.neo4j

NOW = datetime(2031, 6, 10, 20, 30, tzinfo=UTC)
RETRIEVAL = {"old": 4.0, "e1": 3.3, "e2": 3.2, "e3": 3.0, "a": 2.0, "b": 1.0, "mix": 0.5}
"""The viewer's LightGCN scores; the series offers e3 (the viewer completed e1 and e2) for
its best candidate, e1."""
CANDIDATE_OF = {"e3": "e1"}


def duration_ranker() -> Ranker:
    """A ranker for which longer programs are likelier completed (every other feature noise)."""
    rng = np.random.default_rng(0)
    n = 20_000
    features = rng.normal(size=(n, len(FEATURES)))
    duration = rng.uniform(0, 120, n)
    features[:, FEATURES.index("duration_min")] = duration
    features[:, FEATURES.index("kind")] = rng.integers(0, 3, n)
    label = (rng.random(n) < duration / 120).astype(np.int8)
    group = np.arange(n) // 10
    at = (group * 600.0).astype(np.float64)  # 2,000 lists over two weeks
    ranker, record = fit_ranker(Examples(features, label, group, at),
                                RankerConfig(rounds=30, min_validation_lists=1))  # fmt: skip
    assert ranker is not None, record["reason"]
    return ranker


def model(prefix: str, ranker: Ranker | None) -> ServingModel:
    users = [prefix + u for u in ("viewer", "w1", "w2", "w3")]
    programs = [prefix + p for p in RETRIEVAL]
    embeddings = np.zeros((len(users) + len(programs), 2), np.float32)
    embeddings[0] = (1.0, 0.0)  # the viewer: scores are the programs' first column
    embeddings[len(users) :, 0] = list(RETRIEVAL.values())
    embeddings[len(users) :, 1] = 1.0
    version = ModelVersion(
        path=Path(), manifest={"version": "ranked" if ranker else "plain"},
        embeddings=embeddings,
        id_map=IdMap({"User": pd.Index(users), "Program": pd.Index(programs)}),
        train_positives=np.empty((2, 0), np.int64), holdout=np.empty((2, 0), np.int64),
        ranker_text=ranker.to_text() if ranker else None,
    )  # fmt: skip
    return ServingModel.from_version(version)


@pytest.fixture(scope="module")
def graph(
    driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, str]]:
    # No fatigue (the viewer abandoned `old` on channel c2), no caps: every eligible offer.
    app = client_for(neo4j_settings, tmp_path_factory.mktemp("models"), fatigue_programs=0,
                     impression_rails=0, max_per_genre=100, max_per_channel=100)  # fmt: skip
    with scratch_graph(driver, neo4j_settings, "ranking_graph", tag="rs") as prefix, app as client:
        yield client, prefix


def home(client: TestClient, prefix: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/users/{prefix}viewer/rails/home",
                          params={"now": NOW.isoformat(), "limit": 10})  # fmt: skip
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_the_home_rail_is_in_p_complete_order_with_the_training_features(
    driver: Driver, neo4j_settings: Settings, graph: tuple[TestClient, str]
) -> None:
    client, p = graph
    ranker = duration_ranker()
    client.app.state.rails.swap_model(model(p, ranker))  # type: ignore[attr-defined]
    items = home(client, p)
    offered = [i["program_id"].removeprefix(p) for i in items]
    assert sorted(offered) == ["a", "b", "e3", "old"]  # mix has no window open now
    assert {i["score_kind"] for i in items} == {"p_complete"}
    # Each probability is the one the training path computes for the same program.
    db = neo4j_settings.neo4j_database
    asked = [(p + "viewer", [p + x for x in offered])]
    user = read_users(driver, database=db, users=asked)[p + "viewer"]
    programs = read_programs(driver, database=db)
    at = NOW.timestamp()
    week = read_audience(driver, database=db, since=datetime(2031, 6, 3, tzinfo=UTC),
                         until=datetime(2031, 6, 10, tzinfo=UTC)).week_before(at)  # fmt: skip
    scores: list[float | None] = [RETRIEVAL[CANDIDATE_OF.get(x, x)] for x in offered]
    rows = programs.rows_of(p + x for x in offered)
    expected = ranker.predict(ranking_features(user, programs, rows, scores, week, at,
                                               completion_threshold=0.9))  # fmt: skip
    assert [i["score"] for i in items] == pytest.approx(expected.tolist())
    assert all(0 <= s <= 1 for s in expected)
    # In P(complete) order, best first, which here is not retrieval order.
    assert [i["score"] for i in items] == sorted(expected.tolist(), reverse=True)
    assert offered != ["old", "e3", "a", "b"]
    assert all(i["explanation"]["text"] for i in items)  # explanations as without a ranker
    metrics = client.get("/metrics").text
    assert 'graphrails_ranked_items_total{rail="home"} 4.0' in metrics


def test_without_a_ranker_the_rail_keeps_retrieval_order(graph: tuple[TestClient, str]) -> None:
    client, p = graph
    client.app.state.rails.swap_model(model(p, None))  # type: ignore[attr-defined]
    items = home(client, p)
    assert [i["program_id"].removeprefix(p) for i in items] == ["old", "e3", "a", "b"]
    assert {i["score_kind"] for i in items} == {"retrieval"}
    assert [i["score"] for i in items] == pytest.approx([4.0, 3.3, 2.0, 1.0])


def offer(prefix: str, program: str) -> Offer:
    return Offer(rank=0, candidate_id=prefix + program, program_id=prefix + program,
                 title=program, csa="TP", genres=(), series_id=None, series_title=None,
                 season=None, episode=None, channel_id=None, channel_name=None, bundle_id=None,
                 kind=None, available_from=None, available_until=None)  # fmt: skip


def test_missing_features_fall_back_to_retrieval_order(
    neo4j_settings: Settings, graph: tuple[TestClient, str]
) -> None:
    _, p = graph
    served = model(p, duration_ranker())
    ctx = UserContext(user_id=p + "viewer", known=True, csa_ceiling="-18", csa_ceiling_level=18,
                      bundles=[p + "pay"], free_bundles=[], watched=4, anchors=[], recent=[],
                      genre_share={}, not_applicable=[])  # fmt: skip

    async def rank(offers: list[Offer], scores: dict[str, float | None]) -> Any:
        async with open_async_driver(neo4j_settings) as driver:
            stage = RankingStage(driver, neo4j_settings)
            return await stage.rank(ctx, offers, scores, now=NOW, model=served)

    known = {p + "a": 2.0, p + "b": 1.0}
    ranked = asyncio.run(rank([offer(p, "a"), offer(p, "b")], dict(known)))
    assert ranked.fallback is None and set(ranked.probabilities) == set(known)
    # A program the graph no longer holds (deleted after eligibility), a missing score.
    gone = asyncio.run(rank([offer(p, "a"), offer(p, "deleted")], {**known, p + "deleted": 1.0}))
    assert (gone.probabilities, gone.fallback) == (None, MISSING_FEATURES)
    unscored = asyncio.run(rank([offer(p, "a"), offer(p, "b")], {p + "a": 2.0, p + "b": None}))
    assert (unscored.probabilities, unscored.fallback) == (None, MISSING_FEATURES)


def test_a_fallback_is_counted_by_rail_and_reason() -> None:
    metrics = Metrics(model_version=lambda: None, served_queue=lambda: 0, turns=lambda: (0, 0))
    item = RailItem(offer("", "a"), 2.0, "personalised", backfill=False,
                    reason=Reason("recommended", "Recommended for you"))  # fmt: skip
    metrics.observe_rail(Rail("home", "For you", items=[item], ranker_fallback=MISSING_FEATURES))
    assert (
        metrics.registry.get_sample_value(
            "graphrails_ranker_fallbacks_total", {"rail": "home", "reason": MISSING_FEATURES}
        )
        == 1
    )
    assert (
        metrics.registry.get_sample_value("graphrails_ranked_items_total", {"rail": "home"}) is None
    )


def test_the_retrieval_arm_serves_the_same_version_without_its_ranker(
    neo4j_settings: Settings, graph: tuple[TestClient, str]
) -> None:
    client, p = graph
    service: RailsService = client.app.state.rails  # type: ignore[attr-defined]
    service.swap_model(model(p, duration_ranker()))
    arms = {
        name: Assignment(
            "ranker-test", Arm(name, order=name), service.settings, service.fatigue, None
        ).rails(service)
        for name in ("retrieval", "p_complete")
    }
    rails = {
        name: client.portal.call(  # type: ignore[union-attr]
            functools.partial(arm.home, p + "viewer", now=NOW, limit=10)
        )
        for name, arm in arms.items()
    }
    retrieval, ranked = rails["retrieval"], rails["p_complete"]
    assert retrieval.model_version == ranked.model_version == "ranked"
    assert [i.offer.program_id.removeprefix(p) for i in retrieval.items] == ["old", "e3", "a", "b"]
    assert {i.score_kind for i in retrieval.items} == {"retrieval"}
    assert {i.score_kind for i in ranked.items} == {"p_complete"}
    assert service.model is not None and service.model.ranker is not None  # left as it was


def test_a_stored_list_is_ranked_in_its_one_round_trip(
    graph: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, p = graph
    service: RailsService = client.app.state.rails  # type: ignore[attr-defined]
    service.swap_model(model(p, duration_ranker()))
    # Scored by the API (no stored list yet): the user's side read by ranking_facts.cypher,
    # the statement training reads it with. It also warms the caches (popularity, the
    # week's audience, the program table).
    scored = {i["program_id"]: i["score"] for i in home(client, p)}
    counter = RoundTrips(service)
    monkeypatch.setattr(service.driver, "execute_query", counter)
    trips = []
    for _ in range(3):  # a list the API scored is stored for the requests after it
        client.portal.call(service.refresher.flush)  # type: ignore[union-attr]
        before, count = service.home_reads["stored"], counter.count
        items = home(client, p)
        if service.home_reads["stored"] == before + 1:
            trips.append(counter.count - count)
            assert {i["score_kind"] for i in items} == {"p_complete"}
            # The user's side as home.cypher returns it gives the same probabilities.
            assert {i["program_id"]: i["score"] for i in items} == pytest.approx(scored)
    # The context, the stored list, the eligibility of all of it and the ranker's facts.
    assert trips and set(trips) == {1}


def test_the_program_table_is_read_again_once_its_ttl_is_over(
    driver: Driver, neo4j_settings: Settings, graph: tuple[TestClient, str]
) -> None:
    _, p = graph
    db = neo4j_settings.neo4j_database
    longer = "MATCH (x:Program {id: $id}) SET x.duration_s = x.duration_s + $by"

    async def before_and_after(ttl: float) -> tuple[float, float]:
        settings = neo4j_settings.model_copy(update={"ranker_programs_ttl_s": ttl})
        async with open_async_driver(settings) as async_driver:
            stage = RankingStage(async_driver, settings)
            first = await stage.programs()
            driver.execute_query(longer, id=p + "a", by=60, database_=db)
            second = await stage.programs()
        return (float(first.duration_s[first.index[p + "a"]]),
                float(second.duration_s[second.index[p + "a"]]))  # fmt: skip

    try:
        old, cached = asyncio.run(before_and_after(3600.0))
        assert cached == old  # within the TTL: the table read before the change
        old, fresh = asyncio.run(before_and_after(0.0))
        assert fresh == old + 60  # past it: read again
    finally:
        driver.execute_query(longer, id=p + "a", by=-120, database_=db)
