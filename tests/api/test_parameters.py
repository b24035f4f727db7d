"""Bad query parameters and bodies are 422s naming the parameter, before any rail is computed
(pure: the app is not started, and a request that got past validation would fail with 500)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth import API_KEY_HEADER
from api.main import MAX_REQUEST_ID_LENGTH, create_app
from api.schemas import MAX_EVENTS_BYTES, EventsIn
from graph.domain import MAX_ID_LENGTH, MAX_WATCHED_S
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


# ------------------------------------------------------------------ hardening (issue 18)
ROUTES_WITH_NOW = (
    "/v1/users/u1/rails/home", "/v1/users/u1/rails/because-you-watched",
    "/v1/programs/p1/similar", "/v1/rails/popular", "/v1/rails/best-of-bundle",
    "/v1/users/u1/rails/top-replay", "/v1/explain?user_id=u1&program_id=p1",
)  # fmt: skip


@pytest.mark.parametrize("now", ["2025-01-07T21:00:00-20:05", "2025-01-07T21:00:00+18:01"])
def test_a_utc_offset_beyond_18_hours_is_a_422_naming_now(client: TestClient, now: str) -> None:
    for url in ROUTES_WITH_NOW:
        r = client.get(url, params={"now": now})
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert names(r, "query", "now"), r.text


@pytest.mark.parametrize("now", ["0", "-1", "1736283600", "1.5e9"])
def test_a_bare_number_is_not_an_iso_8601_now(client: TestClient, now: str) -> None:
    for url in ROUTES_WITH_NOW:
        r = client.get(url, params={"now": now})
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert names(r, "query", "now") and "ISO 8601" in r.text, r.text


def test_an_event_time_beyond_the_offsets_a_number_or_far_ahead_is_a_422_naming_ts(
    client: TestClient,
) -> None:
    client.app.state.api_keys = [KEY.encode()]  # type: ignore[attr-defined]
    event = {"type": "dislike", "event_id": "e1", "user_id": "u1", "program_id": "p1"}
    for ts in ("2025-01-07T21:00:00-20:05", 0, "1736283600", "2999-01-01T00:00:00Z"):
        r = client.post("/v1/events", json={"events": [{**event, "ts": ts}]},
                        headers={API_KEY_HEADER: KEY})  # fmt: skip
        assert r.status_code == 422, (ts, r.status_code, r.text)
        assert [e["loc"][-1] for e in r.json()["detail"]] == ["ts"], r.text


def test_how_far_ahead_an_event_may_be_dated_is_the_apis_setting(client: TestClient) -> None:
    client.app.state.api_keys = [KEY.encode()]  # type: ignore[attr-defined]
    ts = (datetime.now(UTC) + timedelta(hours=48)).isoformat()
    event = {"type": "dislike", "event_id": "e1", "user_id": "u1", "program_id": "p1", "ts": ts}

    def post() -> Any:
        return client.post("/v1/events", json={"events": [event]}, headers={API_KEY_HEADER: KEY})

    r = post()
    assert r.status_code == 422 and "more than 24 hours in the future" in r.text, r.text
    # An API that takes events up to three days ahead (graphrails simulate's) takes it.
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = settings.model_copy(update={"event_future_hours": 72.0})  # type: ignore[attr-defined]
    assert post().status_code != 422
    # The bound is the API's, request by request: back to the default, refused again.
    client.app.state.settings = settings  # type: ignore[attr-defined]
    assert post().status_code == 422


def test_events_check_the_key_before_the_body(client: TestClient) -> None:
    client.app.state.api_keys = [KEY.encode()]  # type: ignore[attr-defined]
    seen: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(100):  # 10 MB if it were all read
            seen.append(1)
            yield b"x" * 100_000

    r = client.post("/v1/events", content=body(), headers={"content-type": "application/json"})
    assert r.status_code == 401, r.text
    r = client.post("/v1/events", content=body(), headers={API_KEY_HEADER: "wrong-key-0123456789"})
    assert r.status_code == 403, r.text
    assert not seen, f"{len(seen)} chunks of the body were read before the key was checked"


def test_an_events_body_over_the_limit_is_a_413(client: TestClient) -> None:
    client.app.state.api_keys = [KEY.encode()]  # type: ignore[attr-defined]

    def body() -> Iterator[bytes]:  # streamed: no content-length to go by
        for _ in range(MAX_EVENTS_BYTES // 100_000 + 20):
            yield b" " * 100_000

    headers = {API_KEY_HEADER: KEY, "content-type": "application/json"}
    r = client.post("/v1/events", content=body(), headers=headers)
    assert r.status_code == 413 and "bytes" in r.json()["detail"], r.text
    declared = {**headers, "content-length": str(MAX_EVENTS_BYTES + 1)}
    r = client.post("/v1/events", content=b"{}", headers=declared)
    assert r.status_code == 413, r.text


@pytest.mark.parametrize(
    "body",
    # Not UTF-8 (Latin-1, stray bytes): FastAPI answered those 400, not the README's 422.
    [b'{"events": "caf\xe9"}', b"\xff\xff", b"{not json", b"\x00{\x00}", b'{"events": ['],
)
def test_an_unparseable_events_body_is_a_422(client: TestClient, body: bytes) -> None:
    client.app.state.api_keys = [KEY.encode()]  # type: ignore[attr-defined]
    headers = {API_KEY_HEADER: KEY, "content-type": "application/json"}
    r = client.post("/v1/events", content=body, headers=headers)
    assert r.status_code == 422, (body, r.status_code, r.text)
    assert r.json()["detail"][0]["loc"][0] == "body", r.text


def test_a_long_or_odd_request_id_is_replaced_not_echoed(client: TestClient) -> None:
    for given in ("x" * 60_000, "a\tb", "a b"):
        r = client.get("/health", headers={"X-Request-ID": given})
        rid = r.headers["X-Request-ID"]
        assert rid != given and 0 < len(rid) <= MAX_REQUEST_ID_LENGTH, rid
    ok = "req-" + "7" * 120
    assert client.get("/health", headers={"X-Request-ID": ok}).headers["X-Request-ID"] == ok


@pytest.mark.parametrize(
    ("url", "where", "name"),
    [("/v1/users/{}/rails/home", "path", "user_id"),
     ("/v1/users/{}/rails/because-you-watched", "path", "user_id"),
     ("/v1/programs/{}/similar", "path", "program_id"),
     ("/v1/rails/popular?user_id={}", "query", "user_id"),
     ("/v1/rails/best-of-bundle?bundle_id={}", "query", "bundle_id"),
     ("/v1/explain?program_id=p1&user_id={}", "query", "user_id")],
)  # fmt: skip
def test_an_id_over_the_maximum_length_is_a_422_naming_it(
    client: TestClient, url: str, where: str, name: str
) -> None:
    r = client.get(url.format("u" * (MAX_ID_LENGTH + 1)))
    assert r.status_code == 422, (url, r.status_code, r.text[:300])
    assert names(r, where, name), r.text[:300]
    r = client.get(url.format("u" * 64_000))
    assert r.status_code == 422, (url, r.status_code)


def test_openapi_documents_every_error_a_route_answers() -> None:
    spec = create_app(Settings.with_fields(demo_pages=True)).openapi()
    paths = spec["paths"]
    gets = [(p, ops["get"]) for p, ops in paths.items() if "get" in ops]
    for path, op in gets:
        if path in ("/health", "/ready"):
            continue
        assert {"401", "403", "404", "503"} <= set(op["responses"]), path
        if op.get("parameters"):
            assert "422" in op["responses"], path
    assert {"401", "403", "413", "422", "503"} <= set(paths["/v1/events"]["post"]["responses"])
    ready = paths["/ready"]["get"]["responses"]
    assert "503" in ready and "Readiness" in str(ready["503"])
    assert len(gets) >= 8, [p for p, _ in gets]


def test_demo_pages_are_off_unless_asked_for() -> None:
    off = TestClient(create_app(Settings()))
    for url in ("/demo", "/demo/users", "/demo/demo.js", "/browser/guide.html"):
        assert off.get(url).status_code == 404, url
    assert "/demo/users" not in off.app.openapi()["paths"]  # type: ignore[attr-defined]
    on = create_app(Settings.with_fields(demo_pages=True))
    assert "/demo/users" in on.openapi()["paths"]


READ_KEY = "read-key-0123456789abcdef"


@pytest.mark.parametrize(
    "url", ["/v1/users/u1/rails/home", "/v1/explain?user_id=u1&program_id=p1",
            "/v1/rails/popular", "/demo/users"],
)  # fmt: skip
def test_with_read_keys_reads_need_one(url: str) -> None:
    app = create_app(Settings.with_fields(demo_pages=True))
    app.state.read_keys = [READ_KEY.encode()]
    app.state.api_keys = [KEY.encode()]
    app.state.rails = object()
    app.state.settings = Settings()
    c = TestClient(app, raise_server_exceptions=False)
    assert c.get(url).status_code == 401
    assert c.get(url, headers={API_KEY_HEADER: "not-a-key-0123456789"}).status_code == 403
    # A good key passes the check: what answers next is the route (no rails here: 500).
    for key in (READ_KEY, KEY):
        assert c.get(url, headers={API_KEY_HEADER: key}).status_code not in (401, 403)
    assert c.get("/health").status_code == 200


def test_without_read_keys_reads_are_open(client: TestClient) -> None:
    r = client.get("/v1/users/u1/rails/home", params={"now": "2025-01-01T00:00:00Z"})
    assert r.status_code not in (401, 403)
