"""The service's rules on a small hand-built graph (tests/api/service_rules_graph.cypher):
banned genres, country rights, impression fatigue, replay-only offers, the main genre, and
how /v1/explain words the rules that keep a program out. Cases that pass and cases that
fail for each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from neo4j import AsyncGraphDatabase, Driver

from api.rails.eligibility import eligible_offers
from api.rails.service import RailsService
from api.rails.types import Offer
from api.routes.explain import exclusions
from graph.server import resolve_password
from graph.settings import Settings
from tests.api.scratch_graph import scratch_graph

pytestmark = [pytest.mark.neo4j, pytest.mark.anyio]

NOW = datetime(2025, 1, 8, 12, 0, tzinfo=UTC)
ALL = [
    "plain", "news", "film_with_news", "weather", "fr_only", "fr_be", "fr_here_all_there",
    "live_tonight", "live_and_replay", "shown3", "shown2", "shown3_watched", "shown_long_ago",
    "kept_until_quiet",
]  # fmt: skip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def graph(driver: Driver, neo4j_settings: Settings) -> Iterator[str]:
    with scratch_graph(driver, neo4j_settings, "service_rules_graph") as prefix:
        yield prefix


def rules(settings: Settings, **fields: Any) -> Settings:
    """``settings`` with the service rules off unless ``fields`` sets them."""
    off = {"banned_genres": (), "default_country": None, "impression_rails": 0}
    return settings.model_copy(update={**off, **fields})


async def offers(
    settings: Settings, prefix: str, user: str, *, rail: str = "home", **kw: Any
) -> dict[str, Offer]:
    """The offers of every program of the graph for ``user``, by id (without the prefix)."""
    async with AsyncGraphDatabase.driver(
        settings.uri, auth=(settings.neo4j_user, resolve_password(settings))
    ) as driver:
        found = await eligible_offers(
            driver, settings, user_id=prefix + user, program_ids=[prefix + p for p in ALL],
            now=NOW, rail=rail, **kw,
        )  # fmt: skip
    return {o.candidate_id.removeprefix(prefix): o for o in found}


async def test_banned_genres_leave_every_program_of_theirs_out(
    neo4j_settings: Settings, graph: str
) -> None:
    allowed = await offers(rules(neo4j_settings), graph, "fr")
    assert {"plain", "news", "film_with_news"} <= set(allowed)
    banned = rules(neo4j_settings, banned_genres=(graph + "info", graph + "meteo"))
    for rail in ("home", "popular_in_bundle"):  # personalised or not
        found = await offers(banned, graph, "fr", rail=rail)
        assert "plain" in found
        # A banned genre, main or not, keeps the program out.
        assert not {"news", "film_with_news", "weather"} & set(found), rail


async def test_country_rights_follow_the_users_country(
    neo4j_settings: Settings, graph: str
) -> None:
    s = rules(neo4j_settings)
    fr = await offers(s, graph, "fr")
    assert {"fr_only", "fr_be", "plain"} <= set(fr)
    assert fr["fr_here_all_there"].channel_id == graph + "c1"
    de = await offers(s, graph, "de")
    assert "plain" in de and not {"fr_only", "fr_be"} & set(de)
    # Licensed in FR only on one channel, everywhere on the other: offered on that one.
    assert de["fr_here_all_there"].channel_id == graph + "c2"
    # A user with no country: the request's, else the setting's, else only what is
    # licensed everywhere.
    nowhere = await offers(s, graph, "nowhere")
    assert "plain" in nowhere and not {"fr_only", "fr_be"} & set(nowhere)
    be = await offers(s, graph, "nowhere", country="BE")
    assert "fr_be" in be and "fr_only" not in be
    default_fr = await offers(rules(neo4j_settings, default_country="FR"), graph, "nobody")
    assert "fr_only" in default_fr
    # The user's own country wins over the request's.
    assert "fr_only" not in await offers(s, graph, "de", country="FR")


async def test_impression_fatigue_keeps_out_what_was_shown_too_often(
    neo4j_settings: Settings, graph: str
) -> None:
    s = rules(neo4j_settings, impression_rails=3, impression_days=7)
    found = await offers(s, graph, "fr")
    assert "shown3" not in found  # three rails in the last three days
    assert "shown2" in found  # two only
    assert "shown3_watched" in found  # watched after the first: two impressions since
    assert "shown_long_ago" in found  # not shown for seven days: back
    # Shown three times within seven days, the last six days ago: still out.
    assert "kept_until_quiet" not in found
    # Only the personalised rails apply it; 0 turns it off.
    assert {"shown3", "kept_until_quiet"} <= set(
        await offers(s, graph, "fr", rail="popular_in_bundle")
    )
    off = await offers(rules(neo4j_settings, impression_rails=0), graph, "fr")
    assert {"shown3", "kept_until_quiet"} <= set(off)
    # Two rails are enough when the setting says so.
    assert "shown2" not in await offers(rules(neo4j_settings, impression_rails=2), graph, "fr")
    # Per user: another user was never shown them.
    assert "shown3" in await offers(s, graph, "de")


async def test_kinds_keep_only_those_airings(neo4j_settings: Settings, graph: str) -> None:
    s = rules(neo4j_settings)
    every = await offers(s, graph, "fr")
    assert every["live_tonight"].kind == "live"
    replays = await offers(s, graph, "fr", kinds=("replay",))
    assert "live_tonight" not in replays and "weather" not in replays
    assert replays["live_and_replay"].kind == "replay"
    assert replays["plain"].kind == "replay"


async def test_genres_come_main_genre_first(neo4j_settings: Settings, graph: str) -> None:
    found = await offers(rules(neo4j_settings), graph, "fr")
    # The main genre first, though its id sorts after the other's.
    assert found["film_with_news"].genres == (graph + "film", graph + "info")
    assert found["news"].genres == (graph + "info",)


async def test_explain_names_each_rule_that_keeps_a_program_out(
    neo4j_settings: Settings, graph: str
) -> None:
    s = rules(neo4j_settings, banned_genres=(graph + "info",), impression_rails=3)
    async with AsyncGraphDatabase.driver(s.uri, auth=(s.neo4j_user, resolve_password(s))) as driver:
        rails = RailsService(driver, s, None)

        async def why(user: str, program: str, country: str | None = None) -> list[Any]:
            ctx = await rails.context(graph + user, NOW, country)
            return await exclusions(rails, ctx, graph + program, NOW)

        assert await why("fr", "plain") == []
        (banned,) = await why("fr", "film_with_news")
        assert (banned.rule, banned.text) == ("banned_genre", "Its genre Information is banned "
                                              "from the rails.")  # fmt: skip
        (country,) = await why("de", "fr_be")
        assert country.rule == "country"
        assert country.text == (
            "Its airings on the user's channels are licensed only in BE, FR, not in DE."
        )
        # Licensed everywhere on another channel: the country keeps nothing out.
        assert await why("de", "fr_here_all_there") == []
        (unknown,) = await why("nowhere", "fr_only")
        assert unknown.text.endswith("licensed only in FR, and the user's country is unknown.")
        assert await why("nowhere", "fr_only", country="FR") == []
        (shown,) = await why("fr", "shown3")
        assert shown.rule == "impressions"
        assert shown.text == (
            "Shown to the user in 3 rails or more within 7 days and not watched since: it "
            "returns once it has not been shown for 7 days."
        )
        assert await why("fr", "shown2") == []
