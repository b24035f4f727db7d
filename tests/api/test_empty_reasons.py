"""What an empty rail says it searched and why nothing came back (pure: the graph is stubbed)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast
from unittest.mock import patch

from neo4j import AsyncDriver

from api.rails.assembly import empty_reason
from api.rails.popularity import BEST_OF_MIN_WATCHERS, Audience, Rankings
from api.rails.precomputed import BundleRead
from api.rails.service import RailsService
from api.rails.types import Offer, Rail, UserContext
from graph.settings import Settings

NOW = datetime(2025, 1, 9, 20, tzinfo=UTC)


def audience(program_id: str, watchers: int) -> dict[str, Any]:
    return {"program_id": program_id, "season": None, "episode": None,
            "watchers_week": watchers, "completion_week": 0.8, "watchers": watchers,
            "first_available": None}  # fmt: skip


def bundle_rail(
    lists: dict[str, list[dict[str, Any]]],
    *,
    bundle_id: str | None,
    best: bool,
    settings: Settings | None = None,
) -> Rail:
    """The popular (``best``: best-of-bundle) rail of user u1, who holds free and premium,
    for whom nothing is eligible; ``lists`` is each bundle's popularity list."""
    service = RailsService(cast(AsyncDriver, None), settings or Settings(), None)

    async def popularity(bundle_id: str | None, now: datetime) -> list[dict[str, Any]]:
        return lists.get(str(bundle_id), [])

    async def offers(ctx: UserContext, program_ids: list[str], **_: object) -> list[Offer]:
        return []

    async def rankings(now: datetime, **_: object) -> Rankings:
        return Rankings([], {}, Audience(()))

    async def read(*_: object, rail: str, country: str | None, **__: object) -> BundleRead:
        """The rail's one round trip: the context, and no candidate tested."""
        ctx = UserContext(
            user_id="u1", known=True, csa_ceiling="-12", csa_ceiling_level=12,
            bundles=["free", "premium"], free_bundles=["free"], watched=0, anchors=[],
            recent=[], genre_share={}, not_applicable=[], country=country,
        )  # fmt: skip
        return BundleRead(ctx=ctx, program_ids=[], offers=[], max_offers=0, rail=rail)

    service.popularity = popularity  # type: ignore[method-assign]
    service.offers = offers  # type: ignore[method-assign]
    service.cache.rankings = rankings  # type: ignore[method-assign]
    with patch("api.rails.service.read_bundle", read):
        return asyncio.run(
            service.popular(user_id="u1", bundle_id=bundle_id, now=NOW, limit=5, best=best)
        )


LISTS = {
    "free": [audience("f1", 50)],
    "premium": [audience("p1", BEST_OF_MIN_WATCHERS), audience("p2", 1)],
    "quiet": [audience("q1", BEST_OF_MIN_WATCHERS - 1)],
}


def test_a_rail_of_one_bundle_names_only_that_bundle() -> None:
    for best in (False, True):
        reason = str(bundle_rail(LISTS, bundle_id="premium", best=best).empty_reason)
        assert "bundle premium " in reason and "free" not in reason, reason
    popular = bundle_rail(LISTS, bundle_id="premium", best=False).empty_reason
    assert str(popular).startswith("nothing in bundle premium is available")
    best_of = bundle_rail(LISTS, bundle_id="premium", best=True).empty_reason
    assert str(best_of).startswith(
        f"nothing among the programs of bundle premium with {BEST_OF_MIN_WATCHERS} watchers "
        "this week or more is available"
    )
    # Without a bundle the rail searched all the user's bundles, and says so.
    everything = bundle_rail(LISTS, bundle_id=None, best=False).empty_reason
    assert str(everything).startswith("nothing in bundles free, premium is available")


def test_best_of_a_quiet_bundle_blames_the_watcher_threshold() -> None:
    rail = bundle_rail({**LISTS, "premium": LISTS["quiet"]}, bundle_id="premium", best=True)
    assert rail.empty_reason == (
        f"no program of bundle premium has the {BEST_OF_MIN_WATCHERS} watchers this week or "
        "more that best of bundle needs"
    )


def test_a_bundle_the_user_lacks_says_only_that() -> None:
    for best in (False, True):
        rail = bundle_rail(LISTS, bundle_id="quiet", best=best)
        held = "free, premium"
        assert rail.empty_reason == f"user u1 does not hold bundle quiet (bundles held: {held})"


def test_the_reason_names_every_rule_that_leaves_programs_out() -> None:
    reason = str(bundle_rail(LISTS, bundle_id=None, best=False).empty_reason)
    assert reason.endswith(
        "that this user has not already watched, blacklisted or recently abandoned "
        "(the program, its series or its channel)"
    ), reason
    # Fatigue off: the sentence does not claim it.
    off = Settings().model_copy(update={"fatigue_programs": 0})
    reason = str(bundle_rail(LISTS, bundle_id=None, best=False, settings=off).empty_reason)
    assert reason.endswith("that this user has not already watched or blacklisted"), reason


def test_the_service_rules_are_named_when_they_apply() -> None:
    ctx = UserContext(
        user_id="u1", known=True, csa_ceiling="-12", csa_ceiling_level=12, bundles=["free"],
        free_bundles=["free"], watched=0, anchors=[], recent=[], genre_share={},
        not_applicable=[], country="FR",
    )  # fmt: skip
    s = Settings().model_copy(update={"banned_genres": ("information", "meteo"),
                                      "impression_rails": 4, "impression_days": 5})  # fmt: skip
    fatigue = RailsService(cast(AsyncDriver, None), s, None).fatigue
    home = empty_reason(ctx, s, fatigue, rail="home")
    assert home == (
        "nothing in bundle free outside the banned genres information, meteo is available in "
        "FR in the next 7 days within CSA ceiling -12 that this user has not already watched, "
        "blacklisted, recently abandoned (the program, its series or its channel) or been "
        "shown in 4 rails in the last 5 days without watching"
    )
    # Impression fatigue is for the personalised rails only; a replay rail looks at now.
    replays = empty_reason(ctx, s, fatigue, rail="top_replay", replays=True)
    assert replays.startswith("no replay in bundle free outside the banned genres")
    assert " is available in FR now within CSA ceiling -12 " in replays
    assert "been shown" not in replays
    # No banned genre, no country: neither is claimed.
    plain = empty_reason(replace(ctx, country=None), Settings(), fatigue, rail="popular_in_bundle")
    assert plain.startswith("nothing in bundle free is available in the next 7 days")
