"""The rails about a program (similar, because-you-watched) from stored per-program lists:
one round trip, the same rails and explanations as when the API ranks the similar
programs itself, and every rule still applied live on the very next call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from api.model import ServingModel
from gnn.artifacts import ModelVersion
from gnn.candidates import write_program_candidates
from graph.settings import Settings
from tests.api.test_events import KEY, NOW, PREFIX, client_for
from tests.api.test_home_stored import (
    RoundTrips,
    rails,
    rules_apply_on_the_next_call,
    version_of,
)
from tests.loaders.neo4j_data import active_users, generated_and_loaded

pytestmark = pytest.mark.neo4j

VERSION = "about-test"


@pytest.fixture(scope="module")
def tv(
    driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    yield from generated_and_loaded(
        driver, neo4j_settings.neo4j_database, tmp_path_factory.mktemp("tv-about"),
        users=60, programs=300, seed=17,
    )  # fmt: skip


@pytest.fixture
def published(tv: Path, driver: Driver, neo4j_settings: Settings) -> ModelVersion:
    model = version_of(tv, version=VERSION, seed=5)
    written = write_program_candidates(
        driver, model, database=neo4j_settings.neo4j_database, k=200, progress=False
    )
    assert written == len(model.id_map.ids["Program"])
    return model


@pytest.fixture
def client(
    published: ModelVersion, neo4j_settings: Settings, tmp_path: Path
) -> Iterator[TestClient]:
    with client_for(neo4j_settings, tmp_path, api_keys=KEY) as c:
        rails(c).swap_model(ServingModel.from_version(published))
        yield c


def because(client: TestClient, user: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/v1/users/{user}/rails/because-you-watched",
                          params={"now": NOW, "limit": 10, **params})  # fmt: skip
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["rails"]
    return found


def similar(client: TestClient, program: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/v1/programs/{program}/similar",
                          params={"now": NOW, "limit": 10, **params})  # fmt: skip
    assert response.status_code == 200, response.text
    rail: dict[str, Any] = response.json()
    return rail


def shown(rail: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """What a rail shows, item by item: the program, the source, the reason's type and
    its sentence (the co-watch counts are in it)."""
    return [(i["program_id"], i["source"], i["explanation"]["type"], i["explanation"]["text"])
            for i in rail["items"]]  # fmt: skip


def test_publish_stores_each_programs_most_similar(
    published: ModelVersion, driver: Driver, neo4j_settings: Settings
) -> None:
    serving = ServingModel.from_version(published)
    for program in map(str, published.id_map.ids["Program"][:5]):
        records, _, _ = driver.execute_query(
            "MATCH (p:Program {id: $id}) "
            "RETURN p.similar AS c, p.similar_scores AS s, p.similar_version AS v",
            id=program, database_=neo4j_settings.neo4j_database,
        )  # fmt: skip
        r = records[0]
        expected = serving.similar(program, 200)
        assert r["v"] == VERSION and program not in r["c"] and len(r["c"]) == 200
        assert r["c"] == [p for p, _ in expected]
        assert r["s"] == pytest.approx([s for _, s in expected], rel=1e-5, abs=1e-5)


def test_stored_lists_are_one_round_trip_and_the_rails_the_api_would_rank(
    client: TestClient, tv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = rails(client)
    users = active_users(tv, 12)
    for user in users:
        because(client, user)  # warms the popularity cache (read once an hour of `now`)
    counter = RoundTrips(service)
    monkeypatch.setattr(service.driver, "execute_query", counter)
    stored_because, stored_similar, one_trip, anchors = {}, {}, 0, 0
    for user in users:
        trips = counter.count
        stored_because[user] = because(client, user)
        one_trip += counter.count - trips == 1
        anchors += len(stored_because[user])
        for rail in stored_because[user][:1]:
            stored_similar[user] = similar(client, rail["anchor_program_id"], user_id=user)
    assert anchors >= len(users)  # most users have anchors: the rails are not all empty
    # Most requests fill every rail from the first offers of the read.
    assert one_trip >= len(users) * 2 // 3
    # The same embeddings under another version name: no stored list is current, so the
    # API ranks the similar programs itself, and serves the same rails.
    service.swap_model(ServingModel.from_version(version_of(tv, version="other", seed=5)))
    for user in users:
        ranked = because(client, user)
        assert [r["title"] for r in ranked] == [r["title"] for r in stored_because[user]]
        for a, b in zip(ranked, stored_because[user], strict=True):
            assert shown(a) == shown(b), user
            assert a["model_version"] == "other"
        if user in stored_similar:
            rail = similar(client, stored_similar[user]["anchor_program_id"], user_id=user)
            assert shown(rail) == shown(stored_similar[user]), user


def test_rules_apply_on_the_very_next_call_with_a_stored_list(
    client: TestClient, tv: Path, driver: Driver, neo4j_settings: Settings
) -> None:
    user, anchor = next(
        (u, r["anchor_program_id"]) for u in active_users(tv, 30) for r in because(client, u)
        if len([i for i in r["items"] if i["series_id"] is None]) >= 3
    )  # fmt: skip

    def next_call() -> dict[str, Any]:
        """The similar rail of the anchor and the user's because-you-watched rails, as one."""
        rails = [similar(client, anchor, user_id=user), *because(client, user)]
        return {"items": [item for rail in rails for item in rail["items"]]}

    films = [i for i in similar(client, anchor, user_id=user)["items"] if i["series_id"] is None]
    rules_apply_on_the_next_call(client, driver, neo4j_settings.neo4j_database, user=user,
                                 films=films, next_call=next_call, tag="ab")  # fmt: skip


def test_a_program_the_graph_does_not_hold_is_404_with_its_name(client: TestClient) -> None:
    missing = PREFIX + "no-such-program"
    for path, params in ((f"/v1/programs/{missing}/similar", {}),
                         (f"/v1/users/{PREFIX}u/rails/because-you-watched",
                          {"program_id": missing})):  # fmt: skip
        response = client.get(path, params={"now": NOW, **params})
        assert response.status_code == 404
        assert missing in response.text
