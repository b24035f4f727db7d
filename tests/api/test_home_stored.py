"""The home rail from stored candidate lists: one round trip, the same rail as when the API
scores the user itself, and every rule still applied live on the very next call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from api.model import ServingModel
from api.rails.service import RailsService
from api.rails.warm_up import PLACEHOLDER
from gnn.artifacts import ModelVersion
from gnn.candidates import write_user_candidates
from gnn.idmap import IdMap
from graph.queries import query
from graph.settings import Settings
from tests.api.test_admission import _fail
from tests.api.test_events import KEY, PREFIX, client_for, home, post, watch
from tests.loaders.neo4j_data import active_users, delete_ids, generated_and_loaded

pytestmark = pytest.mark.neo4j

VERSION = "stored-test"
TRAINED_AT = "2030-01-01T00:00:00+00:00"
"""After every generated watch and every event these tests post (2025): a publish's lists
stay current, as the trained vectors do."""


def version_of(folder: Path, *, version: str, seed: int = 3) -> ModelVersion:
    """A model version with random embeddings over the users (but the last five) and the
    programs of a generated data set."""
    users = pd.read_csv(folder / "users.csv", dtype=str)["user_id"][:-5]
    programs = pd.read_csv(folder / "programs.csv", dtype=str)["program_id"]
    rng = np.random.default_rng(seed)
    embeddings = rng.standard_normal((len(users) + len(programs), 8)).astype(np.float32)
    return ModelVersion(
        path=folder, manifest={"version": version, "created_at": TRAINED_AT},
        embeddings=embeddings,
        id_map=IdMap({"User": pd.Index(users), "Program": pd.Index(programs)}),
        train_positives=np.empty((0, 2), np.int64), holdout=np.empty((0, 2), np.int64),
    )  # fmt: skip


@pytest.fixture(scope="module")
def tv(
    driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    yield from generated_and_loaded(
        driver, neo4j_settings.neo4j_database, tmp_path_factory.mktemp("tv-stored"),
        users=60, programs=300, seed=13,
    )  # fmt: skip


@pytest.fixture
def published(tv: Path, driver: Driver, neo4j_settings: Settings) -> ModelVersion:
    """Published again for each test: a test serving another version stores that
    version's lists as its users are scored."""
    model = version_of(tv, version=VERSION)
    written = write_user_candidates(
        driver, model, database=neo4j_settings.neo4j_database, k=200, progress=False
    )
    assert written == len(model.id_map.ids["User"])
    return model


@pytest.fixture
def client(
    published: ModelVersion, neo4j_settings: Settings, tmp_path: Path
) -> Iterator[TestClient]:
    with client_for(neo4j_settings, tmp_path, api_keys=KEY) as c:
        rails(c).swap_model(ServingModel.from_version(published))
        yield c


def rails(client: TestClient) -> RailsService:
    service: RailsService = client.app.state.rails  # type: ignore[attr-defined]
    return service


class RoundTrips:
    """Counts the statements the rails service sends to Neo4j."""

    def __init__(self, service: RailsService) -> None:
        self.count = 0
        self.driver = service.driver
        self.real = service.driver.execute_query

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return await self.real(*args, **kwargs)


def shown(rail: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """What a rail shows, item by item: the program, where, the source and the reason (a
    score computed by a matrix product in one place and a matrix-vector product in the
    other may differ in its last bits, so scores are compared apart)."""
    return [(i["program_id"], i["channel_id"], i["source"], i["explanation"]["type"])
            for i in rail["items"]]  # fmt: skip


def ids(rail: dict[str, Any]) -> list[str]:
    return [i["program_id"] for i in rail["items"]]


def test_publish_stores_each_known_users_best_programs(
    published: ModelVersion, driver: Driver, neo4j_settings: Settings
) -> None:
    user = str(published.id_map.ids["User"][0])
    records, _, _ = driver.execute_query(
        "MATCH (u:User {id: $id}) RETURN u.candidates AS c, u.candidate_scores AS s, "
        "u.candidates_version AS v, u.candidates_at AS at",
        id=user, database_=neo4j_settings.neo4j_database,
    )  # fmt: skip
    r = records[0]
    serving = ServingModel.from_version(published)
    expected = serving.for_user(user, 200)
    assert r["v"] == VERSION and len(r["c"]) == 200
    assert r["c"] == [p for p, _ in expected]
    # A matrix product there, a matrix-vector product here: float32 sums of 64 terms that
    # may differ in their last bits, which near 0 is beyond any relative tolerance.
    assert r["s"] == pytest.approx([s for _, s in expected], rel=1e-5, abs=1e-5)
    assert r["at"] == pytest.approx(pd.Timestamp(TRAINED_AT).timestamp())


def test_a_stored_list_is_one_round_trip_and_the_rail_the_api_would_score(
    client: TestClient, tv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = rails(client)
    users = [u for u in active_users(tv, 30) if service.model and service.model.knows_user(u)]
    for user in users:
        home(client, user)  # warms the popularity cache (read once an hour of `now`)
    counter = RoundTrips(service)
    monkeypatch.setattr(service.driver, "execute_query", counter)
    stored, one_trip = {}, 0
    for user in users:
        before, trips = service.home_reads["stored"], counter.count
        stored[user] = home(client, user)
        assert service.home_reads["stored"] == before + 1, user
        one_trip += counter.count - trips == 1
    # Most rails fill from the first offers; a rail left short by the caps asks again.
    assert one_trip >= len(users) * 2 // 3
    # The same embeddings under another version name: no stored list is current, so the
    # API scores every user itself, and serves the same rails.
    assert service.model is not None
    service.swap_model(ServingModel.from_version(version_of(tv, version="other")))
    for user in users:
        before = service.home_reads["scored"]
        rail = home(client, user)
        assert service.home_reads["scored"] == before + 1
        assert shown(rail) == shown(stored[user]), user
        assert [i["score"] for i in rail["items"]] == pytest.approx(
            [i["score"] for i in stored[user]["items"]], rel=1e-5, abs=1e-6
        )
        assert rail["model_version"] == "other"


def test_rules_apply_on_the_very_next_call_with_a_stored_list(
    client: TestClient, tv: Path, driver: Driver, neo4j_settings: Settings
) -> None:
    service = rails(client)
    user = next(
        u for u in active_users(tv, 30)
        if service.model and service.model.knows_user(u) and len(home(client, u)["items"]) >= 8
    )  # fmt: skip

    def next_call() -> dict[str, Any]:
        before = service.home_reads["stored"]
        rail = home(client, user)
        assert service.home_reads["stored"] == before + 1  # still the stored list
        return rail

    films = [i for i in home(client, user)["items"] if i["series_id"] is None]
    rules_apply_on_the_next_call(client, driver, neo4j_settings.neo4j_database, user=user,
                                 films=films, next_call=next_call, tag="st")  # fmt: skip


def rules_apply_on_the_next_call(
    client: TestClient,
    driver: Driver,
    db: str,
    *,
    user: str,
    films: list[dict[str, Any]],
    next_call: Callable[[], dict[str, Any]],
    tag: str,
) -> None:
    """A blacklist of ``films[0]``, a completed watch of ``films[1]``, a skip of
    ``films[2]`` (which tires its channel too) and then the lapse of every subscription of
    ``user`` each leave ``next_call()``'s rail at once (the subscriptions are restored)."""
    blacklisted, completed, skipped = films[0], films[1], films[2]
    event = {"type": "blacklist", "event_id": f"{PREFIX}{tag}-1", "user_id": user,
             "target_type": "program", "target_id": blacklisted["program_id"],
             "ts": "2025-01-09T13:00:00+00:00"}  # fmt: skip
    assert post(client, [event]).json()["applied"] == 1
    assert blacklisted["program_id"] not in ids(next_call())
    done = watch(f"{PREFIX}{tag}-2", user, completed, completion=1.0)
    assert post(client, [done]).json()["applied"] == 1
    assert completed["program_id"] not in ids(next_call())
    # Fatigue: a skip keeps the program and its channel out. It is the user's latest
    # event (the generated watches run to 2025-01-12), so its channel is the one tired.
    skip = {"type": "skip", "event_id": f"{PREFIX}{tag}-3", "user_id": user,
            "program_id": skipped["program_id"], "channel_id": skipped["channel_id"],
            "ts": "2025-01-13T00:00:00+00:00"}  # fmt: skip
    assert post(client, [skip]).json()["applied"] == 1
    rail = next_call()
    assert skipped["program_id"] not in ids(rail)
    assert skipped["channel_id"] not in {i["channel_id"] for i in rail["items"]}
    # A lapsed subscription: every subscription ends before `now` (a free bundle still
    # reaches everyone).
    records, _, _ = driver.execute_query(
        "MATCH (:User {id: $u})-[s:SUBSCRIBES_TO]->(b:Bundle) "
        "SET s.until_before = s.until, s.until = datetime('2025-01-09T00:00:00Z') "
        "RETURN collect(CASE WHEN NOT b.is_free THEN b.id END) AS bundles",
        u=user, database_=db,
    )  # fmt: skip
    lapsed = set(records[0]["bundles"])
    assert lapsed & {i["bundle_id"] for i in rail["items"]}  # offered through one of them
    try:
        after = next_call()
        assert after["items"] and not {i["bundle_id"] for i in after["items"]} & lapsed
    finally:
        driver.execute_query(
            "MATCH (:User {id: $u})-[s:SUBSCRIBES_TO]->() "
            "SET s.until = s.until_before REMOVE s.until_before",
            u=user, database_=db,
        )  # fmt: skip


def test_a_user_the_version_does_not_know_is_scored_then_stored(
    client: TestClient, tv: Path, driver: Driver, neo4j_settings: Settings
) -> None:
    service = rails(client)
    user = PREFIX + "stored-new"
    try:
        items = home(client, user)["items"]  # an unknown user: the default rail
        events = [watch(PREFIX + f"sn-{i}", user, item, completion=1.0)
                  for i, item in enumerate(items[:4])]  # fmt: skip
        assert post(client, events).json()["applied"] == 4
        before = dict(service.home_reads)
        first = home(client, user)  # folded in: scored by the API, its list queued
        assert service.home_reads["scored"] == before.get("scored", 0) + 1
        assert client.portal.call(service.refresher.flush) == 1  # type: ignore[union-attr]
        second = home(client, user)
        assert service.home_reads["stored"] == before.get("stored", 0) + 1
        assert shown(second) == shown(first) and second["title"] == "For you"
        # A new watch moves the user's vector: the list is no longer current.
        more = watch(PREFIX + "sn-9", user, second["items"][0], completion=0.9)
        assert post(client, [more]).json()["applied"] == 1
        home(client, user)
        assert service.home_reads["scored"] == before.get("scored", 0) + 2
    finally:
        delete_ids(driver, neo4j_settings.neo4j_database, {"User": [user]})


def test_after_an_outage_the_home_rail_waits_for_the_warm_up_to_take_its_one_round_trip(
    client: TestClient, tv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until the warm-up has run on the Neo4j that answers after an outage, the home rail reads
    the user's context alone and scores the user itself (smaller statements to plan on a
    Neo4j just started), and serves the same rail, storing nothing; then the one round trip
    again."""
    service = rails(client)
    users = [u for u in active_users(tv, 30) if service.model and service.model.knows_user(u)]
    users = users[:6]
    before = {user: home(client, user) for user in users}

    client.portal.call(_fail, service)  # type: ignore[union-attr]
    assert not service.admission.planned
    sent: list[str] = []
    users_asked: list[Any] = []
    real = service.driver.execute_query

    async def recording(statement: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(statement)
        params = args[0] if args and isinstance(args[0], dict) else kwargs
        users_asked.append(params.get("user_id"))
        return await real(statement, *args, **kwargs)

    monkeypatch.setattr(service.driver, "execute_query", recording)
    first = home(client, users[0])
    assert sent[0] == query("rails/user_context")  # not the one round trip's statement
    # Beside it Neo4j plans the eligibility statement, for a user no node has (reading
    # nothing), so that the rail finds it planned: only until a rail has succeeded.
    assert (sent[1], users_asked[1]) == (query("rails/eligible"), PLACEHOLDER)
    assert shown(first) == shown(before[users[0]])
    assert not service.refresher._pending  # the stored list was current: nothing to store
    # That success started the warm-up, which plans the one round trip's statement.
    for _ in range(200):
        if service.admission.planned:
            break
        client.portal.call(asyncio.sleep, 0.05)  # type: ignore[union-attr]
    assert service.admission.planned
    stored = service.home_reads["stored"]
    for user in users[1:]:
        assert shown(home(client, user)) == shown(before[user]), user
    assert service.home_reads["stored"] == stored + len(users) - 1
    # Besides the warm-up's two statements, no rail after the first planned beside.
    assert users_asked.count(PLACEHOLDER) == 3


def test_a_failed_plan_beside_the_context_does_not_take_the_rail_down(
    client: TestClient, tv: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    service = rails(client)
    user = next(u for u in active_users(tv, 30) if service.model and service.model.knows_user(u))
    before = home(client, user)

    async def refused(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the plan went wrong")

    client.portal.call(_fail, service)  # type: ignore[union-attr]
    assert service.admission.cold
    monkeypatch.setattr("api.rails.service.plan_rail_statements", refused)
    assert shown(home(client, user)) == shown(before)
    assert "could not plan the eligibility beside a rail's context" in caplog.text
    assert not service.admission.cold
