"""What one rails request serves and says about it.

* One request, one model version: a swap while a request is under way changes neither its
  candidates, nor its explanations, nor the version it reports (response and served log).
* An item close to an anchor says "because you watched" only to a user who watched it.
* A rail has ``GRAPHRAILS_RAIL_SIZE`` items unless the request asks for another ``limit``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from api.main import create_app
from api.model import Floats, RecentWatch, ServingModel, UserVector
from api.rails.service import RailsService
from api.served import ServedLog
from graph.settings import Settings
from tests.api.random_model import random_model
from tests.api.served_requests import served_cleanup, tagged_get
from tests.loaders.neo4j_data import active_users, loaded_tv_fixture

pytestmark = pytest.mark.neo4j

PREFIX = f"test-version-{uuid.uuid4().hex[:8]}-"
"""Request ids of this module's requests: the Served nodes to check and to delete."""

tv = loaded_tv_fixture("tv-version", users=80, programs=80, seed=34)


class Recording(ServingModel):
    """A serving model that records every use (the version a request must not touch)."""

    used: list[str]

    def user_vector(
        self, user_id: str, recent: Sequence[RecentWatch], *, min_watches: int
    ) -> UserVector | None:
        self.used.append("user_vector")
        return super().user_vector(user_id, recent, min_watches=min_watches)

    def for_vector(
        self, vector: Floats, n: int, *, shares: Floats | None = None
    ) -> list[tuple[str, float]]:
        self.used.append("for_vector")
        return super().for_vector(vector, n, shares=shares)

    def similar(self, program_id: str, n: int) -> list[tuple[str, float]]:
        self.used.append("similar")
        return super().similar(program_id, n)

    def similarity(self, a: str, b: str) -> float | None:
        self.used.append("similarity")
        return super().similarity(a, b)


class SwapsWhenUsed(Recording):
    """Swaps ``then`` in as soon as a request reads its candidates: the swap lands
    deterministically between the candidates and the explanations of that request."""

    rails: RailsService
    then: ServingModel

    def for_vector(
        self, vector: Floats, n: int, *, shares: Floats | None = None
    ) -> list[tuple[str, float]]:
        self.rails.swap_model(self.then)
        return super().for_vector(vector, n, shares=shares)

    def similar(self, program_id: str, n: int) -> list[tuple[str, float]]:
        self.rails.swap_model(self.then)
        return super().similar(program_id, n)


M = TypeVar("M", bound=Recording)


def copy_as(cls: type[M], model: ServingModel) -> M:
    """``model``'s version as a ``cls``, recording its uses."""
    out = cls(**{f.name: getattr(model, f.name) for f in dataclasses.fields(model)})
    out.used = []
    return out


@pytest.fixture
def client(neo4j_settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    settings = neo4j_settings.model_copy(update={"models_path": tmp_path, "served_flush_s": 3600.0})
    with TestClient(create_app(settings)) as client:
        yield client


_delete_served = served_cleanup(PREFIX)


get = tagged_get(PREFIX)


def logged_versions(
    client: TestClient, driver: Driver, settings: Settings, request_id: str
) -> list[str]:
    log: ServedLog = client.app.state.served_log  # type: ignore[attr-defined]
    client.portal.call(log.flush)  # type: ignore[union-attr]
    records, _, _ = driver.execute_query(
        "MATCH (s:Served {request_id: $rid}) RETURN s.model_version AS v",
        rid=request_id, database_=settings.neo4j_database,
    )  # fmt: skip
    return [r["v"] for r in records]


def swapping(client: TestClient, folder: Path) -> tuple[SwapsWhenUsed, Recording]:
    """Version ``m-a`` serving, which swaps in ``m-b`` when a request reads candidates."""
    rails: RailsService = client.app.state.rails  # type: ignore[attr-defined]
    a = copy_as(SwapsWhenUsed, random_model(folder, version="m-a", seed=1))
    b = copy_as(Recording, random_model(folder, version="m-b", seed=2))
    a.rails, a.then = rails, b
    rails.swap_model(a)
    return a, b


def test_a_swap_during_home_leaves_the_request_on_its_version(
    client: TestClient, driver: Driver, neo4j_settings: Settings, tv: Path
) -> None:
    user = active_users(tv, 1)[0]
    a, b = swapping(client, tv)
    rid, rail = get(client, f"/v1/users/{user}/rails/home", limit=10)
    rails: RailsService = client.app.state.rails  # type: ignore[attr-defined]
    assert rails.model is b, "the swap happened during the request"
    assert rail["sources"][0] == "personalised" and "for_vector" in a.used
    # The explanations compared the user's watches with a's embeddings, never b's.
    assert "similarity" in a.used
    assert b.used == []
    assert rail["model_version"] == "m-a"
    assert logged_versions(client, driver, neo4j_settings, rid) == ["m-a"]
    for item in rail["items"]:
        reason = item["explanation"]
        if reason["type"] == "because_you_watched":
            sim = a.similarity(reason["evidence"]["anchor_id"], item["program_id"])
            assert sim is not None and reason["evidence"]["similarity"] == round(sim, 4)
    # The next request is served by the new version.
    _, rail = get(client, f"/v1/users/{user}/rails/home", limit=10)
    assert rail["model_version"] == "m-b" and "for_vector" in b.used


def test_a_swap_between_because_you_watched_rails_leaves_them_on_one_version(
    client: TestClient, driver: Driver, neo4j_settings: Settings, tv: Path
) -> None:
    user = active_users(tv, 1)[0]
    a, b = swapping(client, tv)
    rid, body = get(client, f"/v1/users/{user}/rails/because-you-watched", limit=4)
    assert len(body["rails"]) >= 2, "several anchors: the swap lands between their rails"
    assert a.used.count("similar") == len(body["rails"])
    assert b.used == []
    assert [r["model_version"] for r in body["rails"]] == ["m-a"] * len(body["rails"])
    assert logged_versions(client, driver, neo4j_settings, rid) == ["m-a"] * len(body["rails"])


# ---------------------------------------------------------------- anchors the user never watched
def unwatched_anchor(folder: Path, user: str) -> str:
    """The most watched program that ``user`` never watched."""
    events = pd.read_csv(folder / "watch_events.csv", dtype=str)
    mine = set(events.loc[events["user_id"] == user, "program_id"])
    return str(next(p for p in events["program_id"].value_counts().index if p not in mine))


def close_to_anchor(rail: dict[str, Any]) -> list[dict[str, Any]]:
    """Explanations of the items the model proposed as close to the rail's anchor."""
    items = [i["explanation"] for i in rail["items"] if i["source"] == "similar"]
    assert items, "the model proposed items close to the anchor"
    return items


def test_similar_items_say_similar_to_unless_the_user_watched_the_anchor(
    client: TestClient, tv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = active_users(tv, 1)[0]
    client.app.state.rails.swap_model(random_model(tv, version="m-sim"))  # type: ignore[attr-defined]
    anchor = unwatched_anchor(tv, user)
    title = str(
        pd.read_csv(tv / "programs.csv", dtype=str).set_index("program_id").loc[anchor, "title"]
    )
    # Anonymous, a user who never watched it, and the same user's because-you-watched rail
    # for it: similar to, never "you watched".
    _, anonymous = get(client, f"/v1/programs/{anchor}/similar", limit=6)
    _, theirs = get(client, f"/v1/programs/{anchor}/similar", user_id=user, limit=6)
    _, asked = get(client, f"/v1/users/{user}/rails/because-you-watched", program_id=anchor,
                   limit=6)  # fmt: skip
    [byw] = asked["rails"]
    assert byw["title"] == f"Similar to {title}" == anonymous["title"]
    for rail in (anonymous, theirs, byw):
        for reason in close_to_anchor(rail):
            assert reason["type"] == "similar_to"
            assert reason["text"].startswith(f"Similar to {title}")
            assert "watched" not in reason["text"].split(":")[0]
            assert reason["evidence"]["anchor_id"] == anchor
            assert isinstance(reason["evidence"]["similarity"], float)

    # The user's own recent watches (and one they name): because you watched.
    _, own = get(client, f"/v1/users/{user}/rails/because-you-watched", limit=6)
    assert own["rails"]
    for rail in own["rails"]:
        assert rail["title"].startswith("Because you watched ")
        watched = rail["title"].removeprefix("Because you watched ")
        for reason in close_to_anchor(rail):
            assert reason["type"] == "because_you_watched"
            assert reason["text"].startswith(f"Because you watched {watched}")
            assert reason["evidence"]["anchor_id"] == rail["anchor_program_id"]
    named = own["rails"][0]["anchor_program_id"]
    _, again = get(client, f"/v1/users/{user}/rails/because-you-watched", program_id=named,
                   limit=6)  # fmt: skip
    assert {r["type"] for r in close_to_anchor(again["rails"][0])} == {"because_you_watched"}

    # A watch older than the recent ones the user context reads (3 here) and than the
    # anchors is still a watch.
    rails = client.app.state.rails  # type: ignore[attr-defined]
    monkeypatch.setattr(rails, "settings", rails.settings.model_copy(update={"fold_in_watches": 3}))
    events = pd.read_csv(tv / "watch_events.csv", dtype=str)
    mine = events[events["user_id"] == user].sort_values("ts")["program_id"].drop_duplicates(
        keep="last")  # fmt: skip
    anchors = {r["anchor_program_id"] for r in own["rails"]}
    oldest = next(p for p in mine.iloc[:-3] if p not in anchors)
    _, old = get(client, f"/v1/users/{user}/rails/because-you-watched", program_id=oldest,
                 limit=6)  # fmt: skip
    assert old["rails"][0]["title"].startswith("Because you watched ")
    assert {r["type"] for r in close_to_anchor(old["rails"][0])} == {"because_you_watched"}


# ---------------------------------------------------------------- rail size
def test_rails_default_to_the_configured_size(
    neo4j_settings: Settings, tmp_path: Path, tv: Path
) -> None:
    user = active_users(tv, 1)[0]
    settings = neo4j_settings.model_copy(
        update={"models_path": tmp_path, "served_log": False, "rail_size": 3}
    )
    with TestClient(create_app(settings)) as client:
        client.app.state.rails.swap_model(random_model(tv, version="m-size"))  # type: ignore[attr-defined]
        anchor = unwatched_anchor(tv, user)
        for url, params in [
            (f"/v1/users/{user}/rails/home", {}),
            (f"/v1/programs/{anchor}/similar", {}),
            ("/v1/rails/popular", {"user_id": user}),
            ("/v1/rails/best-of-bundle", {"user_id": user}),
        ]:
            _, rail = get(client, url, **params)
            assert len(rail["items"]) == 3, url
            _, rail = get(client, url, **params, limit=5)
            assert len(rail["items"]) == 5, url
        _, body = get(client, f"/v1/users/{user}/rails/because-you-watched")
        assert body["rails"] and all(len(r["items"]) == 3 for r in body["rails"])
        for limit in (0, 101):
            r = client.get(f"/v1/users/{user}/rails/home", params={"limit": limit})
            assert r.status_code == 422 and "limit" in r.text
