"""Fatigue through the API: what a user abandons leaves their rails, with its series and
channel, and comes back once newer abandons push it out of the buffer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from graph.settings import Settings
from tests.api.test_events import PREFIX, T0, client_for, home, post, watch
from tests.loaders.neo4j_data import delete_ids, generated_and_loaded

pytestmark = pytest.mark.neo4j

KEY = "fatigue-key-0123456789"


@pytest.fixture(scope="module")
def client(
    driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    db = neo4j_settings.neo4j_database
    data = generated_and_loaded(
        driver, db, tmp_path_factory.mktemp("tv-fatigue"), users=40, programs=200, seed=5
    )
    next(data)
    # A buffer of two programs, one series and one channel; no caps per genre or channel,
    # so that a rail is simply every eligible program in order (up to its limit).
    app = client_for(
        neo4j_settings, tmp_path_factory.mktemp("models"), api_keys=KEY, fatigue_programs=2,
        fatigue_series=1, fatigue_channels=1, max_per_genre=100, max_per_channel=100,
    )  # fmt: skip
    try:
        with app as c:
            c.app.state.rails.swap_model(None)  # type: ignore[attr-defined]  # popularity only
            yield c
    finally:
        delete_ids(driver, db, {"User": [PREFIX + "tired"]})
        next(data, None)


def ids(rail: dict[str, Any]) -> set[str]:
    return {i["program_id"] for i in rail["items"]}


def test_abandoned_programs_series_and_channels_leave_then_return(client: TestClient) -> None:
    user = PREFIX + "tired"
    rail0 = home(client, user, limit=100)
    films = [i for i in rail0["items"] if i["series_id"] is None]
    a = films[0]
    b = next(i for i in films if i["channel_id"] != a["channel_id"])
    c = next(i for i in films if i["channel_id"] not in {a["channel_id"], b["channel_id"]})
    e = next(i for i in rail0["items"]
             if i["series_id"] is not None and i["channel_id"] != b["channel_id"])  # fmt: skip
    f1, f2 = [i for i in films if i not in (a, b, c)][:2]
    on = lambda rail, channel: {i["program_id"] for i in rail["items"]  # noqa: E731
                                if i["channel_id"] == channel}  # fmt: skip
    at = lambda minutes: T0 + timedelta(minutes=minutes)  # noqa: E731

    def send(*events: dict[str, Any]) -> dict[str, Any]:
        response = post(client, list(events), key=KEY)
        assert response.status_code == 200 and response.json()["rejected"] == []
        return home(client, user, limit=100)

    # A abandoned at 30%: A and its channel leave; the rest stays.
    rail1 = send(watch("ft-1", user, a, completion=0.3, ts=at(1)))
    assert a["program_id"] not in ids(rail1) and not on(rail1, a["channel_id"])
    assert ids(rail0) - on(rail0, a["channel_id"]) <= ids(rail1)

    # B skipped: B's channel replaces A's in the channel buffer.
    skip_b = {"type": "skip", "event_id": "ft-2", "user_id": user, "program_id": b["program_id"],
              "channel_id": b["channel_id"], "ts": at(2).isoformat()}  # fmt: skip
    rail2 = send(skip_b)
    assert not {a["program_id"], b["program_id"]} & ids(rail2)
    assert not on(rail2, b["channel_id"])
    assert on(rail0, a["channel_id"]) - {a["program_id"]} <= ids(rail2)

    # C abandoned: the buffer of two holds C and B; A is back.
    rail3 = send(watch("ft-3", user, c, completion=0.1, ts=at(3)))
    assert a["program_id"] in ids(rail3)
    assert not {b["program_id"], c["program_id"]} & ids(rail3)
    assert not on(rail3, c["channel_id"])
    assert on(rail0, b["channel_id"]) - {b["program_id"]} <= ids(rail3)

    # An episode abandoned: its whole series leaves. A completed watch does not tire.
    series = e["series_id"]
    rail4 = send(watch("ft-4", user, e, completion=0.2, ts=at(4)),
                 watch("ft-5", user, f1, completion=0.9, ts=at(5)))  # fmt: skip
    assert series not in {i["series_id"] for i in rail4["items"]}
    assert f1["program_id"] not in ids(rail4)  # done, not tired
    # Two more abandons push the episode out of the buffer: the series is back.
    rail5 = send(watch("ft-6", user, f2, completion=0.5, ts=at(6)))
    assert series not in {i["series_id"] for i in rail5["items"]}  # still 2nd in the buffer
    rail6 = send(watch("ft-7", user, f2, completion=0.6, ts=at(7)),
                 {**skip_b, "event_id": "ft-8", "ts": at(8).isoformat()})  # fmt: skip
    assert series in {i["series_id"] for i in rail6["items"]}
    assert f2["program_id"] not in ids(rail6) and b["program_id"] not in ids(rail6)
