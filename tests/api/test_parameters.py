"""Bad query parameters and bodies are 422s naming the parameter, before any rail is computed
(pure: the app is not started, and a request that got past validation would fail with 500)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.auth import API_KEY_HEADER
from api.main import create_app
from api.schemas import EventsIn
from graph.domain import MAX_WATCHED_S
from graph.settings import Settings

KEY = "parameters-key-0123456789"


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(Settings())
    app.state.settings = Settings()
    app.state.rails = object()  # no rail can be computed: only validation answers
    yield TestClient(app, raise_server_exceptions=False)


def names(response: object, where: str, name: str) -> bool:
    body = response.json()  # type: ignore[attr-defined]
    return any(e["loc"] == [where, name] for e in body["detail"])


@pytest.mark.parametrize(
    "now", ["0001-01-01T00:00:00", "9999-12-25T00:00:00", "9999-12-31T23:59:59+00:00",
            "1900-01-01T01:00:00+02:00"],
)  # fmt: skip
def test_a_now_near_the_limits_of_a_datetime_is_a_422_naming_now(
    client: TestClient, now: str
) -> None:
    for url in ("/v1/users/u1/rails/home", "/v1/rails/popular", "/v1/programs/p1/similar",
                "/v1/explain?user_id=u1&program_id=p1"):  # fmt: skip
        r = client.get(url, params={"now": now})
        assert r.status_code == 422, (url, now, r.status_code, r.text)
        assert names(r, "query", "now"), r.text


@pytest.mark.parametrize(
    ("url", "name"),
    [("/v1/users/u1/rails/because-you-watched", "program_id"),
     ("/v1/rails/popular", "bundle_id"), ("/v1/rails/best-of-bundle", "bundle_id"),
     ("/v1/programs/p1/similar", "user_id"), ("/v1/rails/popular", "user_id"),
     ("/v1/rails/best-of-bundle", "user_id")],
)  # fmt: skip
def test_an_empty_id_is_a_422_not_none_or_an_unknown_one(
    client: TestClient, url: str, name: str
) -> None:
    r = client.get(url, params={name: ""})
    assert r.status_code == 422, (url, r.status_code, r.text)
    assert names(r, "query", name), r.text


@pytest.mark.parametrize("watched_s", [99999999999999999999999, 2**63 - 1, MAX_WATCHED_S + 1])
def test_seconds_watched_beyond_the_bound_are_a_422_naming_watched_s(
    client: TestClient, watched_s: int
) -> None:
    client.app.state.api_keys = [KEY.encode()]  # type: ignore[attr-defined]
    event = {"type": "watch", "event_id": "e1", "user_id": "u1", "program_id": "p1",
             "channel_id": "c1", "ts": "2025-01-09T20:00:00Z", "watched_s": watched_s,
             "completion": 1.0}  # fmt: skip
    r = client.post("/v1/events", json={"events": [event]}, headers={API_KEY_HEADER: KEY})
    assert r.status_code == 422, (r.status_code, r.text)
    assert [e["loc"][-1] for e in r.json()["detail"]] == ["watched_s"], r.text
    EventsIn.model_validate({"events": [{**event, "watched_s": MAX_WATCHED_S}]})  # the bound
