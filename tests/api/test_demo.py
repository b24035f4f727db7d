"""The preview page's routes, the explain layout and what Neo4j Browser fetches from the API."""

from __future__ import annotations

import contextlib
import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from api.browser_guide import saved_queries, with_literals
from api.explain_graph import COLUMNS, MARGIN, lay_out
from api.main import create_app
from api.routes.demo import PER_PROFILE
from api.schemas import GraphNode, GraphPath, GraphRelationship
from graph.queries import query
from graph.settings import Settings
from tests.loaders.neo4j_data import generated_and_loaded

NOW = "2025-01-09T20:00:00Z"  # the generated EPG week starts 2025-01-06


# ------------------------------------------------------------------ layout (no Neo4j)
def _node(element_id: str, label: str) -> GraphNode:
    return GraphNode(element_id=element_id, labels=[label], id=element_id, name=element_id)


def _path(kind: str, nodes: list[tuple[str, str]], rels: list[tuple[str, str, str]]) -> GraphPath:
    return GraphPath(
        kind=kind,
        nodes=[_node(i, label) for i, label in nodes],
        relationships=[GraphRelationship(type=t, start=a, end=b) for a, t, b in rels],
    )


def test_layout_puts_the_user_left_the_program_right_and_merges_shared_parts() -> None:
    access = [("b1", "INCLUDES", "c1"), ("p", "AVAILABLE_ON", "c1")]
    u, b1, c1, p = ("u", "User"), ("b1", "Bundle"), ("c1", "Channel"), ("p", "Program")
    paths = [
        _path("subscription", [u, b1, c1, p], [("u", "SUBSCRIBES_TO", "b1"), *access]),
        # The free bundle reaches the program in two hops: it lines up on the right.
        _path("free_bundle", [b1, c1, p], access),
        _path("genre", [u, ("w", "Program"), ("g", "Genre"), p],
              [("u", "WATCHED", "w"), ("w", "HAS_GENRE", "g"), ("p", "HAS_GENRE", "g")]),
    ]  # fmt: skip
    graph = lay_out(paths)
    nodes = {n.element_id: n for n in graph.nodes}
    assert set(nodes) == {"u", "b1", "c1", "p", "w", "g"}
    assert [nodes[i].column for i in ("u", "b1", "c1", "p")] == [0, 1, 2, COLUMNS - 1]
    assert nodes["u"].x == MARGIN and nodes["p"].x == graph.width - MARGIN
    assert nodes["w"].column == 1 and nodes["g"].column == 2
    assert all(MARGIN <= n.y <= graph.height - MARGIN for n in graph.nodes)
    # Two nodes of one column never share a position.
    column_1 = sorted(n.y for n in graph.nodes if n.column == 1)
    assert len(set(column_1)) == len(column_1) == 2
    shared = [e for e in graph.edges if (e.start, e.type, e.end) == ("p", "AVAILABLE_ON", "c1")]
    assert len(shared) == 1 and shared[0].kinds == ["subscription", "free_bundle"]
    assert len(graph.edges) == 6
    assert graph.kinds == ["subscription", "free_bundle", "genre"]
    assert lay_out([]).nodes == []


def test_layout_orders_a_column_to_avoid_crossings() -> None:
    # w1 links to g2 (lower), w2 to g1 (upper): the genres swap to follow the watches.
    paths = [
        _path("genre", [("u", "User"), ("w1", "Program"), ("g2", "Genre"), ("p", "Program")],
              [("u", "WATCHED", "w1"), ("w1", "HAS_GENRE", "g2"), ("p", "HAS_GENRE", "g2")]),
        _path("genre", [("u", "User"), ("w2", "Program"), ("g1", "Genre"), ("p", "Program")],
              [("u", "WATCHED", "w2"), ("w2", "HAS_GENRE", "g1"), ("p", "HAS_GENRE", "g1")]),
    ]  # fmt: skip
    nodes = {n.element_id: n for n in lay_out(paths).nodes}
    assert (nodes["w1"].y < nodes["w2"].y) == (nodes["g2"].y < nodes["g1"].y)


def test_with_literals_writes_parameters_into_the_statement() -> None:
    text = with_literals("MATCH (u {id: $user_id}) WHERE u.n < $limit RETURN $other_id", {
        "user_id": "it's", "limit": 3})  # fmt: skip
    assert text == "MATCH (u {id: 'it\\'s'}) WHERE u.n < 3 RETURN $other_id"


def test_every_saved_query_is_documented_for_the_browser() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "browser" / "README.md").read_text()
    missing = [name for name in saved_queries() if f"| `{name}` |" not in text]
    assert not missing, f"docs/browser/README.md does not describe {missing}"


# ------------------------------------------------------------------ routes (real Neo4j)
@pytest.fixture(scope="module")
def client(
    driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, Path, Settings]]:
    loaded = contextlib.contextmanager(generated_and_loaded)
    with loaded(driver, neo4j_settings.neo4j_database, tmp_path_factory.mktemp("tv-demo"),
                users=150, programs=120, seed=31) as folder:  # fmt: skip
        # No model: the rails are the bundles' defaults, which is all these routes need.
        settings = neo4j_settings.model_copy(
            update={
                "models_path": tmp_path_factory.mktemp("no-models"),
                "served_log": False,
                "demo_pages": True,
            }
        )
        with TestClient(create_app(settings)) as test_client:
            yield test_client, folder, settings


def _get(client: TestClient, url: str, **params: Any) -> Any:
    response = client.get(url, params={"now": NOW, **params})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.neo4j
def test_page_and_assets_are_served(client: tuple[TestClient, Path, Settings]) -> None:
    test_client, _, _ = client
    page = test_client.get("/demo")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset in ("/demo/demo.js", "/demo/demo.css"):
        assert asset in page.text
        assert test_client.get(asset).status_code == 200
    assert test_client.get("/demo/../main.py").status_code == 404
    assert test_client.get("/demo/index.html").status_code == 404


@pytest.mark.neo4j
def test_users_are_the_most_active_of_each_profile(
    client: tuple[TestClient, Path, Settings], driver: Driver, neo4j_settings: Settings
) -> None:
    # The test database may hold other data than ours, so "most active" is checked against
    # every user the graph holds; the counts of our own users are checked against the files.
    test_client, folder, _ = client
    users = _get(test_client, "/demo/users")["users"]
    assert users and [u["watched"] for u in users] == sorted(
        (u["watched"] for u in users), reverse=True
    )
    records, _, _ = driver.execute_query(
        "MATCH (u:User) RETURN u.id AS user_id, u.profile AS profile, "
        "size([(u)-[:WATCHED]->(p) | p]) AS watched",
        database_=neo4j_settings.neo4j_database,
    )
    graph = pd.DataFrame([r.data() for r in records])
    for profile, shown in pd.DataFrame(users).groupby("profile"):
        of_profile = graph[graph["profile"] == profile]
        assert len(shown) == min(PER_PROFILE, len(of_profile))
        assert shown["watched"].min() >= of_profile["watched"].nlargest(len(shown)).min()
    events = pd.read_csv(folder / "watch_events.csv", dtype=str)
    watched = events.drop_duplicates(["user_id", "program_id"])["user_id"].value_counts()
    ours = [u for u in users if u["user_id"] in watched.index]
    assert ours and all(u["watched"] == watched[u["user_id"]] for u in ours)


@pytest.mark.neo4j
def test_explain_graph_lays_out_the_explain_paths_and_links_to_the_browser(
    client: tuple[TestClient, Path, Settings], driver: Driver
) -> None:
    test_client, _, settings = client
    user = _get(test_client, "/demo/users")["users"][0]["user_id"]
    program = _get(test_client, f"/v1/users/{user}/rails/home", limit=1)["items"][0]["program_id"]
    found = _get(test_client, "/demo/explain-graph", user_id=user, program_id=program)
    explain = _get(test_client, "/v1/explain", user_id=user, program_id=program)
    assert found["explain"] == explain and explain["eligible"]
    ids = {n["id"] for n in found["graph"]["nodes"]}
    assert {user, program} <= ids
    on_paths = {n["element_id"] for p in explain["paths"] for n in p["nodes"]}
    assert {n["element_id"] for n in found["graph"]["nodes"]} == on_paths
    # The link opens Neo4j Browser with one statement that runs as is: same paths.
    link = urlsplit(found["browser_link"])
    assert found["browser_link"].startswith(settings.browser_url + "?cmd=edit&arg=")
    assert parse_qs(link.query)["arg"] == [found["browser_cypher"]]
    assert "$" not in found["browser_cypher"]
    records, _, _ = driver.execute_query(found["browser_cypher"],
                                         database_=settings.neo4j_database)  # fmt: skip
    assert sum(len(paths) for paths in records[0].values()) == len(explain["paths"])

    # A visitor the graph does not know is explained as the rails serve them.
    visitor = _get(test_client, "/demo/explain-graph", user_id="nobody-x", program_id=program)
    assert visitor["explain"]["known_user"] is False
    assert {p["kind"] for p in visitor["explain"]["paths"]} <= {"free_bundle"}
    params = {"user_id": user, "program_id": "no-such-x"}
    missing = test_client.get("/demo/explain-graph", params=params)
    assert missing.status_code == 404 and "no-such-x" in missing.text


@pytest.mark.neo4j
def test_browser_style_and_guide_are_readable_from_the_browser_origin(
    client: tuple[TestClient, Path, Settings],
) -> None:
    test_client, _, _ = client
    origin = {"Origin": "http://127.0.0.1:7474"}
    style = test_client.get("/browser/graphrails.grass", headers=origin)
    assert style.status_code == 200 and style.headers["access-control-allow-origin"] == "*"
    assert "node.User" in style.text and "relationship.WATCHED" in style.text
    # The Browser sends pragma and cache-control with a guide request: a CORS preflight.
    preflight = test_client.options("/browser/guide.html", headers={
        **origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "pragma,cache-control"})  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-headers"] == "*"

    guide = test_client.get("/browser/guide.html", params={"now": NOW}, headers=origin)
    assert guide.status_code == 200 and guide.headers["access-control-allow-origin"] == "*"
    assert guide.text.startswith("<title>graphrails</title>")
    assert guide.text.count("<slide>") == 2 + len(saved_queries())
    for name in saved_queries():
        assert html.escape(query(f"explore/{name}")) in guide.text, name
    active = _get(test_client, "/demo/users")["users"][0]
    assert html.escape(f'user_id: "{active["user_id"]}"') in guide.text
    # The access paths are drawn for the guide's own time.
    assert html.escape('now: "2025-01-09T20:00:00+00:00"') in guide.text
    assert "http://testserver/browser/graphrails.grass" in guide.text
