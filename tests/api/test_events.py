"""POST /v1/events against the real Neo4j: API keys, idempotence, rejects, and the effects on
the next rail call (a completed watch, a blacklist, a new user's fold-in)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from neo4j import Driver
from pydantic import SecretStr

from api.main import create_app
from api.model import RecentWatch, ServingModel
from gnn.artifacts import ModelVersion
from gnn.idmap import IdMap
from graph.settings import Settings
from loaders.tv import load_events
from tests.loaders.neo4j_data import delete_ids, generated_and_loaded

pytestmark = pytest.mark.neo4j

KEY = "test-key-" + uuid.uuid4().hex
NOW = "2025-01-09T20:00:00Z"  # inside the generated EPG week
PREFIX = f"ev-{uuid.uuid4().hex[:8]}-"
"""Users this module creates through events (deleted afterwards)."""
HOME = "/v1/users/{}/rails/home"
T0 = datetime(2025, 1, 9, 12, tzinfo=UTC)


def genre_model(folder: Path, *, version: str, trained_at: str | None = None) -> ServingModel:
    """A serving model whose program vectors are their main genre (plus a little noise),
    so that a fold-in leans towards the genres watched; random user vectors."""
    users = pd.read_csv(folder / "users.csv", dtype=str)["user_id"]
    programs = pd.read_csv(folder / "programs.csv", dtype=str)
    genres = programs["genres"].str.split("|").str[0]
    codes = pd.Categorical(genres).codes
    rng = np.random.default_rng(3)
    p = np.eye(codes.max() + 1, dtype=np.float32)[codes]
    p += 0.05 * rng.standard_normal(p.shape).astype(np.float32)
    u = rng.standard_normal((len(users), p.shape[1])).astype(np.float32)
    manifest = {"version": version, **({"created_at": trained_at} if trained_at else {})}
    model = ModelVersion(
        path=folder, manifest=manifest, embeddings=np.vstack([u, p]),
        id_map=IdMap({"User": pd.Index(users), "Program": pd.Index(programs["program_id"])}),
        train_positives=np.empty((2, 0), np.int64), holdout=np.empty((2, 0), np.int64),
    )  # fmt: skip
    return ServingModel.from_version(model)


def client_for(settings: Settings, tmp: Path, **fields: Any) -> TestClient:
    """A client of a new app on ``settings`` (no model on disk, no reload nor experiments
    poll while testing, no served log: these tests read the user's relationships and
    count the statements a request sends)."""
    if isinstance(fields.get("api_keys"), str):  # model_copy does not validate
        fields["api_keys"] = SecretStr(fields["api_keys"])
    update = {"models_path": tmp, "model_poll_s": 3600.0, "experiments_poll_s": 3600.0,
              "served_log": False, **fields}  # fmt: skip
    return TestClient(create_app(settings.model_copy(update=update)))


def watch(event_id: str, user: str, item: dict[str, Any], *, completion: float,
          ts: datetime = T0) -> dict[str, Any]:  # fmt: skip
    return {"type": "watch", "event_id": event_id, "user_id": user,
            "program_id": item["program_id"], "channel_id": item["channel_id"],
            "ts": ts.isoformat(), "watched_s": int(3000 * completion),
            "completion": completion}  # fmt: skip


def post(client: TestClient, events: list[dict[str, Any]], key: str | None = KEY) -> Any:
    headers = {"X-API-Key": key} if key is not None else {}
    return client.post("/v1/events", json={"events": events}, headers=headers)


def home(client: TestClient, user: str, **params: Any) -> dict[str, Any]:
    response = client.get(HOME.format(user), params={"now": NOW, "limit": 20, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def user_graph(driver: Driver, db: str, user: str) -> list[dict[str, Any]]:
    """What events write about ``user``, to compare before and after."""
    records, _, _ = driver.execute_query(
        "MATCH (u:User {id: $u}) "
        "OPTIONAL MATCH (u)-[r:WATCHED|SKIPPED|BLACKLISTED|UNBLACKLISTED]->(x) "
        "RETURN u.id AS user, type(r) AS rel, x.id AS target, properties(r) AS props "
        "ORDER BY rel, target",
        u=user, database_=db,
    )  # fmt: skip
    return [r.data() for r in records]


@pytest.fixture(scope="module")
def tv(
    driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    db = neo4j_settings.neo4j_database
    yield from generated_and_loaded(
        driver, db, tmp_path_factory.mktemp("tv-events"), users=60, programs=200, seed=5
    )
    records, _, _ = driver.execute_query(
        "MATCH (u:User) WHERE u.id STARTS WITH $p RETURN collect(u.id) AS ids", p=PREFIX,
        database_=db,
    )  # fmt: skip
    delete_ids(driver, db, {"User": records[0]["ids"]})


@pytest.fixture(scope="module")
def client(
    tv: Path, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with client_for(neo4j_settings, tmp_path_factory.mktemp("models"), api_keys=KEY) as c:
        c.app.state.rails.swap_model(genre_model(tv, version="genre-test"))  # type: ignore[attr-defined]
        yield c


def test_writes_without_a_valid_key_are_refused_and_change_nothing(
    client: TestClient, tv: Path, driver: Driver, neo4j_settings: Settings, tmp_path: Path
) -> None:
    db = neo4j_settings.neo4j_database
    user = PREFIX + "intruder"
    item = home(client, user)["items"][0]
    events = [watch("e-auth-1", user, item, completion=1.0),
              {"type": "blacklist", "event_id": "e-auth-2", "user_id": "u0000001",
               "target_type": "program", "target_id": item["program_id"],
               "ts": T0.isoformat()}]  # fmt: skip
    before = user_graph(driver, db, "u0000001")

    missing = post(client, events, key=None)
    assert missing.status_code == 401 and "X-API-Key" in missing.json()["detail"]
    wrong = post(client, events, key=KEY + "x")
    assert wrong.status_code == 403 and missing.json()["detail"] != wrong.json()["detail"]
    # The key is checked before the body: a bad body without a key is still a 401.
    assert post(client, [{"type": "nonsense"}], key=None).status_code == 401
    with client_for(neo4j_settings, tmp_path) as closed:  # no key configured at all
        refused = post(closed, events)
        assert refused.status_code == 403
        assert "GRAPHRAILS_API_KEYS" in refused.json()["detail"]

    assert user_graph(driver, db, user) == []  # not even created
    assert user_graph(driver, db, "u0000001") == before
    assert item["program_id"] in {i["program_id"] for i in home(client, user)["items"]}


def test_short_api_keys_stop_the_start(neo4j_settings: Settings, tmp_path: Path) -> None:
    app = client_for(neo4j_settings, tmp_path, api_keys=f"{KEY},short")
    with pytest.raises(ValueError, match="GRAPHRAILS_API_KEYS: key 2 "), app:
        pass


def test_completed_watch_leaves_the_next_home_rail(client: TestClient) -> None:
    user = "u0000002"  # a user of the data set
    before = home(client, user)["items"]
    done, half = before[0], before[1]
    response = post(client, [watch("e-done-1", user, done, completion=0.95),
                             watch("e-done-2", user, half, completion=0.8)])  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == 2 and response.json()["created_users"] == []
    after = {i["program_id"] for i in home(client, user)["items"]}
    assert done["program_id"] not in after
    assert half["program_id"] in after  # 0.8: neither done nor abandoned


def test_blacklists_apply_at_once_and_unblacklist_restores(
    client: TestClient, driver: Driver, neo4j_settings: Settings
) -> None:
    user = PREFIX + "picky"
    items = home(client, user, limit=50)["items"]
    program = items[0]
    channel = next(i for i in items if i["channel_id"] != program["channel_id"])
    genre = next(
        i for i in items if not set(i["genres"]) & {*program["genres"], *channel["genres"]}
    )
    ts = T0.isoformat()
    events = [
        {"type": "dislike", "event_id": "e-bl-1", "user_id": user,
         "program_id": program["program_id"], "ts": ts},
        {"type": "blacklist", "event_id": "e-bl-2", "user_id": user, "target_type": "channel",
         "target_id": channel["channel_id"], "ts": ts},
        {"type": "blacklist", "event_id": "e-bl-3", "user_id": user, "target_type": "genre",
         "target_id": genre["genres"][0], "ts": ts},
    ]  # fmt: skip
    body = post(client, events).json()
    assert body["applied"] == 3 and body["created_users"] == [user]
    after = home(client, user, limit=50)["items"]
    assert after and program["program_id"] not in {i["program_id"] for i in after}
    assert channel["channel_id"] not in {i["channel_id"] for i in after}
    assert genre["genres"][0] not in {g for i in after for g in i["genres"]}
    records, _, _ = driver.execute_query(
        "MATCH (:User {id: $u})-[b:BLACKLISTED]->(x) RETURN b.at AS at",
        u=user, database_=neo4j_settings.neo4j_database,
    )  # fmt: skip
    assert [r["at"].to_native() for r in records] == [T0] * 3  # audits read when it started

    later = (T0 + timedelta(hours=1)).isoformat()
    undo = {"type": "unblacklist", "event_id": "e-bl-4", "user_id": user,
            "target_type": "program", "target_id": program["program_id"], "ts": later}  # fmt: skip
    assert post(client, [undo]).json()["applied"] == 1
    assert program["program_id"] in {i["program_id"] for i in home(client, user, limit=50)["items"]}
    # Replaying the dislike now changes nothing: its id was absorbed by the un-blacklist.
    assert post(client, [events[0]]).json()["already_applied"] == 1
    assert program["program_id"] in {i["program_id"] for i in home(client, user, limit=50)["items"]}


def blacklisted(driver: Driver, db: str, user: str) -> set[str]:
    records, _, _ = driver.execute_query(
        "MATCH (:User {id: $u})-[:BLACKLISTED]->(x) RETURN collect(x.id) AS ids",
        u=user, database_=db,
    )  # fmt: skip
    return set(records[0]["ids"])


def test_the_latest_blacklist_action_wins_whatever_order_it_arrives_in(
    client: TestClient, driver: Driver, neo4j_settings: Settings
) -> None:
    db = neo4j_settings.neo4j_database
    user = PREFIX + "offline"
    items = home(client, user, limit=50)["items"]
    dropped, kept, twice = (i["program_id"] for i in items[:3])

    def event(kind: str, event_id: str, program: str, hour: int) -> dict[str, Any]:
        return {"type": kind, "event_id": event_id, "user_id": user, "target_type": "program",
                "target_id": program, "ts": T0.replace(hour=hour).isoformat()}  # fmt: skip

    # An un-blacklist at 11:00 arrives before a blacklist of 10:00 synced late: the
    # un-blacklist was the user's latest action. And the mirror: a blacklist at 11:00,
    # then an un-blacklist of 10:00; and two blacklists (9:00, 11:00) with an
    # un-blacklist of 10:00 between them in time but after them in arrival.
    batches = [
        [event("unblacklist", "e-lo-1", dropped, 11), event("blacklist", "e-lo-2", kept, 11),
         event("blacklist", "e-lo-3", twice, 9), event("blacklist", "e-lo-4", twice, 11)],
        [event("blacklist", "e-lo-5", dropped, 10), event("unblacklist", "e-lo-6", kept, 10),
         event("unblacklist", "e-lo-7", twice, 10)],
    ]  # fmt: skip
    for batch in batches:
        body = post(client, batch).json()
        assert body["applied"] == len(batch) and body["rejected"] == [], body
    assert blacklisted(driver, db, user) == {kept, twice}
    rail = {i["program_id"] for i in home(client, user, limit=50)["items"]}
    assert dropped in rail and not {kept, twice} & rail
    records, _, _ = driver.execute_query(
        "MATCH (:User {id: $u})-[b:BLACKLISTED]->(:Program {id: $p}) RETURN b.at AS at",
        u=user, p=twice, database_=db,
    )  # fmt: skip
    assert records[0]["at"].to_native() == T0.replace(hour=9)  # it started at 9:00

    # Replaying everything, in either order, changes nothing.
    snapshot = user_graph(driver, db, user)
    for batch in [*batches, *reversed(batches)]:
        assert post(client, batch).json()["already_applied"] == len(batch)
    assert user_graph(driver, db, user) == snapshot

    # A newer action still applies: un-blacklisting at 12:00, then a stale blacklist.
    body = post(client, [event("unblacklist", "e-lo-8", kept, 12),
                         event("blacklist", "e-lo-9", kept, 10)]).json()  # fmt: skip
    assert body["applied"] == 2
    assert blacklisted(driver, db, user) == {twice}


def test_a_new_user_with_five_watches_gets_a_personalised_home(client: TestClient) -> None:
    user = PREFIX + "newcomer"
    first = home(client, user, limit=30)
    assert first["sources"][0] != "personalised"
    # Five watches, all of one genre: the folded-in vector leans towards it.
    genre = first["items"][0]["genres"][0]
    picked = [i for i in first["items"] if i["genres"][0] == genre][:5]
    picked += [i for i in first["items"] if i not in picked][: 5 - len(picked)]
    events = [watch(f"e-new-{k}", user, item, completion=1.0, ts=T0 + timedelta(minutes=k))
              for k, item in enumerate(picked)]  # fmt: skip
    assert post(client, events[:2]).json()["created_users"] == [user]
    assert home(client, user)["sources"][0] != "personalised"  # two watches are not enough
    assert post(client, events[2:]).json()["applied"] == 3
    rail = home(client, user)
    assert rail["sources"][0] == "personalised", rail
    assert not rail["items"][0]["backfill"]
    assert not {i["program_id"] for i in picked} & {i["program_id"] for i in rail["items"]}


def test_replaying_a_batch_changes_nothing(
    client: TestClient, driver: Driver, neo4j_settings: Settings, tv: Path
) -> None:
    db = neo4j_settings.neo4j_database
    user = PREFIX + "replay"
    items = home(client, user)["items"]
    events = [
        watch("e-rp-1", user, items[0], completion=0.2),
        watch("e-rp-2", user, items[0], completion=0.6, ts=T0 + timedelta(minutes=5)),
        {"type": "skip", "event_id": "e-rp-3", "user_id": user,
         "program_id": items[1]["program_id"], "ts": T0.isoformat()},
        {"type": "blacklist", "event_id": "e-rp-4", "user_id": user, "target_type": "program",
         "target_id": items[2]["program_id"], "ts": T0.isoformat()},
        {"type": "unblacklist", "event_id": "e-rp-5", "user_id": user, "target_type": "program",
         "target_id": items[2]["program_id"], "ts": T0.isoformat()},
        {"type": "blacklist", "event_id": "e-rp-6", "user_id": user, "target_type": "program",
         "target_id": items[2]["program_id"], "ts": T0.isoformat()},
    ]  # fmt: skip
    first = post(client, events).json()
    assert first["applied"] == 6 and first["rejected"] == []
    snapshot = user_graph(driver, db, user)
    watched = next(r["props"] for r in snapshot if r["rel"] == "WATCHED")
    assert watched["event_ids"] == ["e-rp-1", "e-rp-2"] and watched["count"] == 2
    assert watched["completion"] == 0.6 and watched["last_channel_id"] == items[0]["channel_id"]
    assert {r["rel"] for r in snapshot} == {"WATCHED", "SKIPPED", "BLACKLISTED", "UNBLACKLISTED"}
    again = post(client, events).json()
    assert again["applied"] == 0 and again["already_applied"] == 6
    assert user_graph(driver, db, user) == snapshot

    # The API and the file loader fold watches with one rule: loading the same
    # events from a file finds them all already in the graph.
    path = tv.parent / "replay_events.csv"
    pd.DataFrame([{"event_id": e["event_id"], "user_id": e["user_id"],
                   "program_id": e["program_id"], "channel_id": e["channel_id"], "ts": e["ts"],
                   "watched_s": e["watched_s"], "completion": e["completion"]}
                  for e in events[:2]]).to_csv(path, index=False)  # fmt: skip
    report = load_events(driver, path, database=db, progress=False)
    assert report.files[0].written == 0 and report.rejects == []
    assert user_graph(driver, db, user) == snapshot


def test_a_partial_batch_keeps_the_valid_events_and_reports_the_rest(
    client: TestClient, driver: Driver, neo4j_settings: Settings
) -> None:
    user = PREFIX + "partial"
    item = home(client, user)["items"][0]
    ts = T0.isoformat()
    events = [
        watch("e-pb-1", user, item, completion=0.95),
        watch("e-pb-2", user, {**item, "program_id": "no-such-program"}, completion=1.0),
        watch("e-pb-3", user, {**item, "channel_id": "no-such-channel"}, completion=1.0),
        {"type": "blacklist", "event_id": "e-pb-4", "user_id": user, "target_type": "genre",
         "target_id": "no-such-genre", "ts": ts},
        watch("e-pb-1", user, item, completion=0.1),  # the id again
        {"type": "skip", "event_id": "e-pb-6", "user_id": PREFIX + "ghost",
         "program_id": "no-such-program", "ts": ts},
    ]  # fmt: skip
    response = post(client, events)
    assert response.status_code == 200
    body = response.json()
    assert body["received"] == 6 and body["applied"] == 1
    assert body["created_users"] == [user]  # the ghost had no valid event
    got = [(r["index"], r["event_id"], r["field"], r["reason"].split(":")[0])
           for r in body["rejected"]]  # fmt: skip
    assert got == [
        (1, "e-pb-2", "program_id", "unknown_reference"),
        (2, "e-pb-3", "channel_id", "unknown_reference"),
        (3, "e-pb-4", "target_id", "unknown_reference"),
        (4, "e-pb-1", "event_id", "duplicate_id"),
        (5, "e-pb-6", "program_id", "unknown_reference"),
    ]
    assert "no-such-genre" in body["rejected"][2]["reason"]
    assert user_graph(driver, neo4j_settings.neo4j_database, PREFIX + "ghost") == []
    assert item["program_id"] not in {i["program_id"] for i in home(client, user)["items"]}


@pytest.mark.parametrize(
    ("events", "where"),
    [
        ([], "events"),
        ([{"type": "watch", "event_id": "x", "user_id": "u"}], "program_id"),
        ([{"type": "watch", "event_id": "x", "user_id": "u", "program_id": "p",
           "channel_id": "c", "ts": NOW, "watched_s": 1, "completion": 1.5}], "completion"),
        ([{"type": "watch", "event_id": "x", "user_id": "u", "program_id": "p",
           "channel_id": "c", "ts": NOW, "watched_s": 99999999999999999999999,
           "completion": 1.0}], "watched_s"),
        ([{"type": "rate", "event_id": "x", "user_id": "u", "ts": NOW}], "type"),
        ([{"type": "blacklist", "event_id": "x", "user_id": "u", "ts": NOW,
           "target_type": "bundle", "target_id": "b"}], "target_type"),
        ([{"type": "skip", "event_id": "", "user_id": "u", "program_id": "p", "ts": NOW}],
         "event_id"),
    ],
)  # fmt: skip
def test_malformed_bodies_get_422_naming_the_field(
    client: TestClient, events: list[dict[str, Any]], where: str
) -> None:
    response = post(client, events)
    assert response.status_code == 422
    assert where in str(response.json()["detail"])


# ------------------------------------------------------------------ fold-in, without Neo4j
def tiny_model(trained_at: str | None = "2025-01-09T00:00:00+00:00") -> ServingModel:
    programs = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    users = np.array([[0, 0, 2]], dtype=np.float32)
    manifest = {"version": "tiny", **({"created_at": trained_at} if trained_at else {})}
    return ServingModel.from_version(ModelVersion(
        path=Path(), manifest=manifest, embeddings=np.vstack([users, programs]),
        id_map=IdMap({"User": pd.Index(["known"]), "Program": pd.Index(["a", "b", "c"])}),
        train_positives=np.empty((2, 0), np.int64), holdout=np.empty((2, 0), np.int64),
    ))  # fmt: skip


BEFORE = datetime(2025, 1, 8, tzinfo=UTC).timestamp()
AFTER = datetime(2025, 1, 10, tzinfo=UTC).timestamp()


def test_fold_in_is_a_completion_and_recency_weighted_mean() -> None:
    model = tiny_model()
    recent = [RecentWatch("a", 1.0, AFTER), RecentWatch("zz", 1.0, AFTER),
              RecentWatch("b", 0.5, AFTER), RecentWatch("c", 0.0, AFTER)]  # fmt: skip
    folded = model.fold_in(recent)
    assert folded is not None
    vector, used = folded
    # weights: a 1 * 0.9**0, b 0.5 * 0.9**2 (unknown zz keeps its rank), c weighs 0
    wb = 0.5 * 0.81
    assert used == 2
    assert np.allclose(vector, [1 / (1 + wb), wb / (1 + wb), 0], atol=1e-6)
    assert model.fold_in([RecentWatch("zz", 1.0, AFTER)]) is None


def test_user_vector_for_unknown_and_known_users() -> None:
    model = tiny_model()
    three = [RecentWatch(p, 1.0, BEFORE) for p in "abc"]
    assert model.user_vector("new", three[:2], min_watches=3) is None
    new = model.user_vector("new", three, min_watches=3)
    assert new is not None and new.how == "fold_in"
    # Nothing newer than the version: the trained vector as it is.
    known = model.user_vector("known", three, min_watches=3)
    assert known is not None and known.how == "trained"
    assert np.array_equal(known.vector, [0, 0, 2])
    # One of two recent watches is newer: half trained (unit), half fold-in (unit).
    mixed = model.user_vector(
        "known", [RecentWatch("a", 1.0, AFTER), RecentWatch("c", 1.0, BEFORE)], min_watches=3
    )
    assert mixed is not None and mixed.how == "trained+fold_in" and mixed.new_share == 0.5
    fold = np.array([1, 0, 0.9]) / np.linalg.norm([1, 0, 0.9])
    assert np.allclose(mixed.vector, 0.5 * np.array([0, 0, 1]) + 0.5 * fold, atol=1e-6)
    assert model.for_vector(mixed.vector, 1)[0][0] == "c"
    # A version without created_at cannot tell what is newer: trained only.
    assert tiny_model(None).user_vector("known", three, min_watches=3).how == "trained"  # type: ignore[union-attr]
