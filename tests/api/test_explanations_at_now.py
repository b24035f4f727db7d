"""Explanations true at every ``now``, on a small hand-built graph (``week_graph.cypher``):
best of bundle counts the week before ``now``, an episode counted for another names it,
"new this week" is first available within the week, the airing offered is the one a
viewer can best use, and ``/v1/explain`` explains a visitor the graph does not know."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from graph.settings import Settings
from tests.api.scratch_graph import scratch_graph
from tests.api.test_events import client_for

pytestmark = pytest.mark.neo4j

BEFORE = "2025-02-03T12:00:00Z"  # before most watches: only old_hit's first six are past
MID = "2025-03-08T20:00:00Z"  # the day after the last watch
LATE = "2025-03-19T12:00:00Z"  # twelve days after the last watch: a week without any


@pytest.fixture(scope="module")
def week(
    driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, str]]:
    # No model (popularity only), no caps per genre or channel: every eligible program.
    app = client_for(neo4j_settings, tmp_path_factory.mktemp("models"), max_per_genre=100,
                     max_per_channel=100)  # fmt: skip
    with scratch_graph(driver, neo4j_settings, "week_graph", tag="wk") as prefix, app as client:
        yield client, prefix


def rail(week: tuple[TestClient, str], name: str, now: str) -> dict[str, Any]:
    client, p = week
    response = client.get(f"/v1/rails/{name}", params={
        "bundle_id": p + "pay", "user_id": p + "viewer", "now": now, "limit": 100})  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def items(week: tuple[TestClient, str], name: str, now: str) -> dict[str, dict[str, Any]]:
    """The rail's items by program id (without the prefix)."""
    return {i["program_id"].removeprefix(week[1]): i for i in rail(week, name, now)["items"]}


def text(item: dict[str, Any]) -> str:
    return str(item["explanation"]["text"])


def test_best_of_bundle_counts_the_week_before_now(week: tuple[TestClient, str]) -> None:
    before = items(week, "best-of-bundle", BEFORE)
    assert list(before) == ["old_hit"]
    assert text(before["old_hit"]) == (
        "Among the most completed in your bundle: 6 viewers this week watched on average 95% of it"
    )
    # A month later old_hit has 8 viewers in all (84% on average), 2 of them this week.
    mid = items(week, "best-of-bundle", MID)
    assert list(mid) == ["e1", "fresh"]
    assert text(mid["fresh"]).endswith("5 viewers this week watched on average 80% of it")
    evidence = mid["fresh"]["explanation"]["evidence"]
    assert (evidence["watchers_week"], evidence["completion_week"]) == (5, 0.8)
    late = rail(week, "best-of-bundle", LATE)
    assert late["items"] == []
    assert late["empty_reason"] == (
        f"no program of bundle {week[1]}pay has the 5 watchers this week or more that best "
        "of bundle needs"
    )
    # Popular counts the same week.
    popular = items(week, "popular", MID)
    assert text(popular["old_hit"]) == "Popular on Pay One in your bundle: 2 viewers this week"
    assert text(popular["fresh"]) == "Popular on Pay One in your bundle: 5 viewers this week"
    assert items(week, "popular", LATE)["old_hit"]["explanation"]["type"] == "recommended"


def test_an_episode_offered_for_another_names_the_episode_counted(
    week: tuple[TestClient, str],
) -> None:
    # Episode 3 of Lupin is the most completed; the viewer has not started the series,
    # so episode 1 (never watched) is offered with episode 3's numbers, named.
    e1 = items(week, "best-of-bundle", MID)["e1"]
    assert e1["episode"] == 1
    assert text(e1) == (
        "Among the most completed in your bundle: 5 viewers this week watched on average 90% "
        "of season 1, episode 3 of Lupin"
    )
    assert e1["explanation"]["evidence"]["counted_program_id"] == week[1] + "e3"
    popular = items(week, "popular", MID)["e1"]
    assert text(popular) == (
        "Popular on Pay One in your bundle: 5 viewers of an episode of Lupin this week"
    )
    assert popular["explanation"]["evidence"]["counted_program_id"] == week[1] + "e3"
    # Before episode 3 was watched, episode 1 claims nothing.
    assert items(week, "popular", BEFORE)["e1"]["explanation"]["type"] == "recommended"


def test_new_this_week_is_first_available_within_the_week(week: tuple[TestClient, str]) -> None:
    # not_new first aired 2025-02-27 00:48: new on 2025-03-05, not on 2025-03-08 20:00
    # (9.8 days later), though its replay window opened on 2025-03-04.
    early = items(week, "popular", "2025-03-05T12:00:00Z")
    assert early["not_new"]["explanation"]["type"] == "new_this_week"
    assert "brand_new" not in early  # not available yet
    mid = items(week, "popular", MID)
    assert mid["not_new"]["availability"] == "replay"
    assert mid["not_new"]["explanation"]["type"] == "recommended"
    assert text(mid["brand_new"]) == "New this week on Pay One"
    assert mid["brand_new"]["explanation"]["evidence"]["first_available"] == (
        "2025-03-06T00:00:00+00:00"
    )
    late = items(week, "popular", LATE)
    assert late["brand_new"]["explanation"]["type"] == "recommended"


@pytest.mark.parametrize(
    ("now", "program", "offered"),
    [
        # Before every airing: the first, not started yet.
        ("2025-03-02T12:00:00Z", "twice", ("live", "2025-03-08T19:40:00Z")),
        # In progress with 45 of its 55 minutes ahead: kept.
        ("2025-03-08T19:50:00Z", "twice", ("live", "2025-03-08T19:40:00Z")),
        # 25 or 5 minutes left: the next airing in full instead.
        ("2025-03-08T20:10:00Z", "twice", ("live", "2025-03-10T21:00:00Z")),
        ("2025-03-08T20:30:00Z", "twice", ("live", "2025-03-10T21:00:00Z")),
        ("2025-03-11T12:00:00Z", "twice", ("live", "2025-03-12T21:00:00Z")),
        ("2025-03-13T00:00:00Z", "twice", None),  # after the last airing
        # On demand now beats the live airing, whether it is still to come or under way.
        ("2025-03-08T12:00:00Z", "with_vod", ("vod", "2025-03-08T00:00:00Z")),
        ("2025-03-08T20:10:00Z", "with_vod", ("vod", "2025-03-08T00:00:00Z")),
        # Before the VOD window opens, the live airing is what there is.
        ("2025-03-07T12:00:00Z", "with_vod", ("live", "2025-03-08T20:00:00Z")),
        ("2025-03-09T00:30:00Z", "with_vod", None),
    ],
)
def test_the_airing_offered_is_the_one_a_viewer_can_best_use(
    week: tuple[TestClient, str], now: str, program: str, offered: tuple[str, str] | None
) -> None:
    found = items(week, "popular", now).get(program)
    if offered is None:
        assert found is None
        return
    assert found is not None
    when = datetime.fromisoformat(found["available_from"])
    assert (found["availability"], when) == (offered[0], datetime.fromisoformat(offered[1]))


def explain(week: tuple[TestClient, str], user: str, program: str, now: str) -> Any:
    client, p = week
    return client.get("/v1/explain", params={"user_id": user, "program_id": p + program,
                                             "now": now})  # fmt: skip


def test_explain_an_unknown_user_as_the_rails_serve_them(week: tuple[TestClient, str]) -> None:
    visitor = f"visitor-{uuid.uuid4().hex[:8]}"
    found = explain(week, visitor, "free_film", MID)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["known_user"] is False and body["csa_ceiling"] == "-10"
    assert week[1] + "free" in body["bundles"] and week[1] + "pay" not in body["bundles"]
    assert body["eligible"] is True
    # One path per (bundle, channel), though the program has two windows on the channel.
    assert [p["kind"] for p in body["paths"]] == ["free_bundle"]
    assert [n["id"] for n in body["paths"][0]["nodes"]] == [
        week[1] + "free", week[1] + "c_free", week[1] + "free_film"]  # fmt: skip
    # Above the anonymous ceiling, in a bundle the visitor lacks, or after the windows.
    assert explain(week, visitor, "free_adult", MID).json()["eligible"] is False
    assert explain(week, visitor, "old_hit", MID).json()["eligible"] is False
    assert explain(week, visitor, "free_film", "2025-04-05T00:00:00Z").json()["eligible"] is False
    missing = explain(week, visitor, "no_such_program", MID)
    assert missing.status_code == 404 and "no_such_program" in missing.json()["detail"]


def test_explain_draws_one_subscription_path_per_bundle_and_channel(
    week: tuple[TestClient, str],
) -> None:
    # twice has three airings on the channel, and the viewer two subscription periods.
    for now in (MID, "2025-03-11T12:00:00Z"):
        body = explain(week, week[1] + "viewer", "twice", now).json()
        subscription = [p for p in body["paths"] if p["kind"] == "subscription"]
        assert len(subscription) == 1
        assert body["known_user"] is True and body["eligible"] is True
        assert [n["id"] for n in subscription[0]["nodes"]] == [
            week[1] + "viewer", week[1] + "pay", week[1] + "c_pay", week[1] + "twice"]  # fmt: skip
    assert explain(week, week[1] + "viewer", "twice", "2025-03-13T00:00:00Z").json()[
        "eligible"] is False  # fmt: skip
