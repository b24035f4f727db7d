"""Each eligibility rule on a small hand-built graph, with cases that pass and cases that fail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from neo4j import AsyncGraphDatabase, Driver

from api.rails.eligibility import NO_FATIGUE, Fatigue, eligible_offers
from api.rails.types import Offer
from graph.server import resolve_password
from graph.settings import Settings
from tests.api.scratch_graph import scratch_graph

pytestmark = [pytest.mark.neo4j, pytest.mark.anyio]

NOW = datetime(2025, 1, 8, 12, 0, tzinfo=UTC)
ALL = [
    "replay_now", "live_cine_tomorrow", "live_ended", "live_in_ten_days", "vod_from_tomorrow",
    "csa16", "csa12", "blacklisted", "horror", "only_black_channel", "watched_done",
    "watched_half", "rated_film", "s1e1", "s1e2", "s1e3", "abandoned_old", "abandoned_mid",
    "watched_ok", "skipped_then_watched", "tired_film", "on_tired_channel", "ml_film",
    "tv_no_window", "s2e1", "s2e2", "s2e3", "in_two_bundles",
]  # fmt: skip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def rules_graph(driver: Driver, neo4j_settings: Settings) -> Iterator[str]:
    with scratch_graph(driver, neo4j_settings, "rules_graph") as prefix:
        yield prefix


async def offer_list(
    settings: Settings, prefix: str, user: str, candidates: list[str] = ALL, **kw: object
) -> list[Offer]:
    """eligible_offers for ``user`` over ``candidates`` (ids without the prefix), in order."""
    async with AsyncGraphDatabase.driver(
        settings.uri, auth=(settings.neo4j_user, resolve_password(settings))
    ) as driver:
        rules = settings.model_copy(update={
            "window_days": 7.0, "completion_threshold": 0.9, "anonymous_csa_ceiling": "-10",
            **kw.get("rules", {}),  # type: ignore[dict-item]
        })  # fmt: skip
        return await eligible_offers(
            driver, rules, user_id=prefix + user, rail=kw.get("rail", "home"),  # type: ignore[arg-type]
            program_ids=[prefix + p for p in candidates], now=kw.get("now", NOW),  # type: ignore[arg-type]
            country=kw.get("country"),  # type: ignore[arg-type]
            kinds=kw.get("kinds"),  # type: ignore[arg-type]
            check_availability=kw.get("check_availability", True),  # type: ignore[arg-type]
            fatigue=kw.get("fatigue", NO_FATIGUE),  # type: ignore[arg-type]
            max_offers=kw.get("max_offers"),  # type: ignore[arg-type]
            skip_series=[prefix + s for s in kw.get("skip_series", ())],  # type: ignore[attr-defined]
        )  # fmt: skip


async def offers(
    settings: Settings, prefix: str, user: str, candidates: list[str] = ALL, **kw: object
) -> dict[str, Offer]:
    """The offers by candidate id (without the prefix)."""
    found = await offer_list(settings, prefix, user, candidates, **kw)
    return {o.candidate_id.removeprefix(prefix): o for o in found}


async def test_availability_window_and_bundle_rights(
    neo4j_settings: Settings, rules_graph: str
) -> None:
    adult = await offers(neo4j_settings, rules_graph, "adult12")
    assert "replay_now" in adult  # replay available now, free bundle
    assert "live_cine_tomorrow" in adult  # airs within 7 days, on a subscribed bundle
    assert adult["live_cine_tomorrow"].bundle_id == rules_graph + "cine"
    assert "live_ended" not in adult  # aired yesterday
    assert "live_in_ten_days" not in adult  # beyond the 7-day window
    assert "vod_from_tomorrow" not in adult  # VOD not available yet
    lapsed = await offers(neo4j_settings, rules_graph, "lapsed")
    assert "live_cine_tomorrow" not in lapsed  # subscription ended
    assert "replay_now" in lapsed  # the free bundle needs no subscription


async def test_availability_not_applicable_skips_only_programs_with_no_availability_data(
    neo4j_settings: Settings, rules_graph: str
) -> None:
    # A TV data set and MovieLens in one database: "availability" is not applicable
    # for the MovieLens films, and still applies to every TV program.
    checked = await offers(neo4j_settings, rules_graph, "adult12")
    assert "ml_film" not in checked and "tv_no_window" not in checked
    adult = await offers(neo4j_settings, rules_graph, "adult12", check_availability=False)
    ml = adult["ml_film"]
    assert (ml.channel_id, ml.bundle_id, ml.kind, ml.available_from) == (None, None, None, None)
    not_watchable = {"live_ended", "live_in_ten_days", "vod_from_tomorrow", "only_black_channel"}
    assert not not_watchable & set(adult)
    assert "tv_no_window" not in adult  # a TV program, though it has no window at all
    assert adult["replay_now"].channel_id == rules_graph + "c_free"
    lapsed = await offers(neo4j_settings, rules_graph, "lapsed", check_availability=False)
    assert "live_cine_tomorrow" not in lapsed and "ml_film" in lapsed
    kid = await offers(neo4j_settings, rules_graph, "kid", check_availability=False)
    assert "ml_film" in kid and "csa12" not in kid  # the other rules still apply


async def test_csa_ceiling(neo4j_settings: Settings, rules_graph: str) -> None:
    adult = await offers(neo4j_settings, rules_graph, "adult12")
    assert "csa12" in adult and "csa16" not in adult
    kid = await offers(neo4j_settings, rules_graph, "kid")
    assert "csa12" not in kid and "replay_now" in kid


async def test_blacklists_of_program_genre_and_channel(
    neo4j_settings: Settings, rules_graph: str
) -> None:
    adult = await offers(neo4j_settings, rules_graph, "adult12")
    assert "blacklisted" not in adult
    assert "horror" not in adult
    assert "only_black_channel" not in adult
    # Available on a blacklisted and on another channel: offered on the other one.
    assert adult["replay_now"].channel_id == rules_graph + "c_free"
    kid = await offers(neo4j_settings, rules_graph, "kid")  # blacklists are per user
    assert {"blacklisted", "horror", "only_black_channel"} <= set(kid)


async def test_completed_programs_leave_and_series_offer_the_next_episode(
    neo4j_settings: Settings, rules_graph: str
) -> None:
    adult = await offers(neo4j_settings, rules_graph, "adult12")
    assert "watched_done" not in adult
    assert "watched_half" in adult  # abandoned at 40%: still offered
    assert "rated_film" not in adult  # a WATCHED with no completion (a rating) is complete
    p = rules_graph
    # s1e1 is done: s1e1 and s1e3 as candidates both offer s1e2.
    assert adult["s1e1"].program_id == p + "s1e2"
    only_s1e3 = await offers(neo4j_settings, rules_graph, "adult12", ["s1e3"])
    assert only_s1e3["s1e3"].program_id == p + "s1e2"
    assert adult["s1e1"].series_id == p + "s1"
    assert adult["s1e1"].follows_series and not adult["replay_now"].follows_series
    kid = await offers(neo4j_settings, rules_graph, "kid", ["s1e3"])  # never watched: episode 1
    assert kid["s1e3"].program_id == p + "s1e1"
    assert not kid["s1e3"].follows_series
    kid = await offers(neo4j_settings, rules_graph, "kid")
    assert "rated_film" in kid


async def test_a_series_offers_only_its_next_episode(
    neo4j_settings: Settings, rules_graph: str
) -> None:
    p = rules_graph
    # adult12 completed s2e1; s2e2 is above their ceiling: the series offers nothing,
    # not s2e3 as if it were the next episode.
    adult = await offers(neo4j_settings, p, "adult12")
    assert not {"s2e1", "s2e2", "s2e3"} & set(adult)
    # lapsed (ceiling -18) never watched Saga Two but blacklisted s2e1: nothing either.
    lapsed = await offers(neo4j_settings, p, "lapsed")
    assert not {"s2e1", "s2e2", "s2e3"} & set(lapsed)
    other = await offers(neo4j_settings, p, "tired", ["s2e3"])  # ceiling -18, no blacklist
    assert other["s2e3"].program_id == p + "s2e1" and not other["s2e3"].follows_series


async def test_the_best_ranked_candidate_of_a_series_stands_for_it(
    neo4j_settings: Settings, rules_graph: str
) -> None:
    # Every episode of a series offers the same next episode: one offer, for the first.
    p = rules_graph
    found = await offer_list(neo4j_settings, p, "adult12", ["s1e3", "replay_now", "s1e1"])
    assert [(o.rank, o.candidate_id, o.program_id) for o in found] == [
        (0, p + "s1e3", p + "s1e2"), (1, p + "replay_now", p + "replay_now"),
    ]  # fmt: skip
    # A series already offered for the rail is not tested again.
    skipped = await offers(neo4j_settings, p, "adult12", ["s1e3", "replay_now"],
                           skip_series=["s1"])  # fmt: skip
    assert set(skipped) == {"replay_now"}


async def test_max_offers_returns_the_first_offers_in_candidate_order(
    neo4j_settings: Settings, rules_graph: str
) -> None:
    for user in ("adult12", "kid", "tired", "nobody"):
        every = await offer_list(neo4j_settings, rules_graph, user)
        assert len(every) >= 3
        for k in (0, 1, 2, len(every) - 1, len(every), len(every) + 5):
            first = await offer_list(neo4j_settings, rules_graph, user, max_offers=k)
            assert first == every[:k], (user, k)


async def test_a_channel_in_two_bundles_names_the_first_bundle(
    neo4j_settings: Settings, rules_graph: str
) -> None:
    p = rules_graph
    adult = await offers(neo4j_settings, p, "adult12")  # subscribes to cine, has free
    assert adult["in_two_bundles"].bundle_id == p + "cine"
    kid = await offers(neo4j_settings, p, "kid")
    assert kid["in_two_bundles"].bundle_id == p + "free"


async def test_candidate_order_is_kept_and_unknown_users_get_the_free_bundle(
    neo4j_settings: Settings, rules_graph: str
) -> None:
    adult = await offers(neo4j_settings, rules_graph, "adult12")
    ranks = [o.rank for o in adult.values()]
    assert ranks == sorted(ranks)
    nobody = await offers(neo4j_settings, rules_graph, "nobody")
    assert "replay_now" in nobody and "only_black_channel" in nobody  # free bundle
    assert "live_cine_tomorrow" not in nobody  # paid bundle
    assert "csa12" not in nobody  # the default ceiling is -10 here


def tired(programs: int, series: int = 1, channels: int = 1, completion: float = 0.7) -> Fatigue:
    return Fatigue(completion=completion, programs=programs, series=series, channels=channels)


async def test_fatigue_keeps_out_recently_abandoned_programs_series_and_channels(
    neo4j_settings: Settings, rules_graph: str
) -> None:
    p = rules_graph
    # History, most recent first: tired_film (0.1, on c_tired), s1e2 (skipped),
    # abandoned_mid (0.5), abandoned_old (0.2); watched_ok reached 0.8.
    off = await offers(neo4j_settings, p, "tired")
    assert {"tired_film", "abandoned_mid", "abandoned_old", "on_tired_channel"} <= set(off)
    assert off["s1e1"].program_id == p + "s1e1"

    buffer3 = await offers(neo4j_settings, p, "tired", fatigue=tired(3))
    assert "tired_film" not in buffer3 and "abandoned_mid" not in buffer3
    assert "abandoned_old" in buffer3  # pushed out of a buffer of 3
    assert "watched_ok" in buffer3  # 0.8 >= 0.7: not abandoned
    assert "skipped_then_watched" in buffer3  # watched to 0.75: the skip does not count
    # The series of the last abandoned episode (s1e2, skipped) is kept out whole.
    assert not {"s1e1", "s1e2", "s1e3"} & set(buffer3)
    # The channel of the last abandoned program (tired_film, c_tired) is kept out.
    assert "on_tired_channel" not in buffer3
    assert "replay_now" in buffer3

    buffer4 = await offers(neo4j_settings, p, "tired", fatigue=tired(4, channels=2))
    assert "abandoned_old" not in buffer4
    # c_tired and c_free are both tiring: replay_now is still offered on its other channel.
    assert buffer4["replay_now"].channel_id == p + "c_black"
    assert "watched_ok" not in buffer4 and "abandoned_old" not in buffer4  # only on c_free

    # A buffer of one holds tired_film: no series (it is not an episode), no channel asked.
    buffer1 = await offers(neo4j_settings, p, "tired", fatigue=tired(1, channels=0))
    assert "tired_film" not in buffer1
    assert {"abandoned_mid", "on_tired_channel"} <= set(buffer1)
    assert buffer1["s1e1"].program_id == p + "s1e1"


async def test_fatigue_threshold_and_other_users(
    neo4j_settings: Settings, rules_graph: str
) -> None:
    strict = await offers(neo4j_settings, rules_graph, "tired",
                          fatigue=tired(10, series=0, channels=0, completion=0.85))  # fmt: skip
    assert "watched_ok" not in strict and "skipped_then_watched" not in strict
    lenient = await offers(neo4j_settings, rules_graph, "tired",
                           fatigue=tired(10, series=0, channels=0, completion=0.15))  # fmt: skip
    # Only the skipped s1e2 and tired_film (0.1) stay below 0.15.
    assert {"abandoned_old", "abandoned_mid", "watched_ok"} <= set(lenient)
    assert "tired_film" not in lenient
    assert lenient["s1e1"].program_id == rules_graph + "s1e1"  # s1e2 skipped, s1e1 still offered
    adult = await offers(neo4j_settings, rules_graph, "adult12", fatigue=tired(30))
    assert "watched_half" not in adult  # abandoned at 40%: tired
    nobody = await offers(neo4j_settings, rules_graph, "nobody", fatigue=tired(30))
    assert "tired_film" in nobody and "on_tired_channel" in nobody
