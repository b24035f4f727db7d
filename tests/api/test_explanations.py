"""Reason sentences and evidence for audience-based items (pure, no Neo4j)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

from neo4j import AsyncDriver

from api.model import ServingModel
from api.rails.reasons import Explainer, audience_of, first_available_of
from api.rails.types import Offer, Reason, UserContext
from graph.settings import Settings

NOW = datetime(2025, 1, 9, 20, tzinfo=UTC)
CTX = UserContext(
    user_id="u1", known=True, csa_ceiling="-12", csa_ceiling_level=3, bundles=["b1"],
    free_bundles=[], watched=0, anchors=[], recent=[], genre_share={}, not_applicable=[],
)  # fmt: skip


def offer(candidate_id: str, program_id: str, *, series: str | None = None) -> Offer:
    return Offer(
        rank=0, candidate_id=candidate_id, program_id=program_id, title="T", csa="TP",
        genres=("drame",), series_id="s1" if series else None, series_title=series,
        season=1 if series else None, episode=1 if series else None, channel_id="c1",
        channel_name="Canal 1", bundle_id="b1", kind="replay",
        available_from=datetime(2024, 12, 1, tzinfo=UTC), available_until=None,
    )  # fmt: skip


def reasons(
    offers: list[Offer], popularity: dict[str, dict[str, Any]], source: str
) -> list[Reason]:
    explainer = Explainer(cast(AsyncDriver, None), Settings())
    return [
        explainer._reason(CTX, o, source=source, now=NOW, anchor=None, model=None,
                          watched_anchor=False, co_watch={}, sample=0,
                          counted=audience_of(o, popularity))
        for o in offers
    ]  # fmt: skip


def test_an_episode_offered_for_a_popular_one_counts_and_names_the_episode_ranked() -> None:
    # The popular list ranked episode p5; the user has not started the series, so p1 is offered.
    popularity = {"p5": {"season": 1, "episode": 5, "watchers_week": 120, "watchers": 300,
                         "completion_week": 0.8}}  # fmt: skip
    (r,) = reasons([offer("p5", "p1", series="Lupin")], popularity, "popular_in_bundle")
    assert r.type == "popular_on_channel"
    assert (
        r.text == "Popular on Canal 1 in your bundle: 120 viewers of an episode of Lupin this week"
    )
    assert r.evidence["watchers_week"] == 120 and r.evidence["counted_program_id"] == "p5"
    (best,) = reasons([offer("p5", "p1", series="Lupin")], popularity, "best_of_bundle")
    assert best.text == (
        "Among the most completed in your bundle: 120 viewers this week watched on average 80% "
        "of season 1, episode 5 of Lupin"
    )
    assert best.evidence["counted_program_id"] == "p5"
    assert (best.evidence["watchers_week"], best.evidence["completion_week"]) == (120, 0.8)
    # Without a season the episode alone; the program offered for itself is "it".
    no_season = {"p5": {**popularity["p5"], "season": None}, "p1": popularity["p5"]}
    (best,) = reasons([offer("p5", "p1", series="Lupin")], no_season, "best_of_bundle")
    assert best.text.endswith("watched on average 80% of episode 5 of Lupin")
    (own,) = reasons([offer("p1", "p1", series="Lupin")], no_season, "best_of_bundle")
    assert own.text.endswith("120 viewers this week watched on average 80% of it")
    assert "counted_program_id" not in own.evidence


def test_a_program_offered_for_itself_counts_its_own_audience() -> None:
    popularity = {"p1": {"watchers_week": 1, "watchers": 4, "completion_week": None}}
    (own,) = reasons([offer("p1", "p1")], popularity, "popular_in_bundle")
    assert own.text == "Popular on Canal 1 in your bundle: 1 viewer this week"
    assert "counted_program_id" not in own.evidence
    # The candidate has no audience row but the episode offered does: that one is counted.
    (fallback,) = reasons([offer("p9", "p1", series="Lupin")], popularity, "popular_in_bundle")
    assert fallback.text == "Popular on Canal 1 in your bundle: 1 viewer this week"
    (none,) = reasons([offer("p9", "p8")], popularity, "popular_in_bundle")
    assert none.evidence["watchers_week"] == 0


class FarModel:
    """A model in which no anchor is close to anything."""

    version = "v-test"

    def similarity(self, a: str, b: str) -> float:
        return 0.0


def test_no_popularity_is_claimed_without_a_viewer_this_week() -> None:
    explainer = Explainer(cast(AsyncDriver, None), Settings())
    ctx = replace(
        CTX, anchors=[{"id": "a1", "title": "Anchor"}], genre_share={"sport": ("Sport", 1.0)}
    )
    # Personalised, close to no anchor, of no genre the user watched, and nobody's this week.
    (mine,) = asyncio.run(explainer.reasons(
        ctx, [offer("p1", "p1")], source="personalised", now=NOW, anchor=None,
        model=cast(ServingModel, FarModel()), popularity={"p1": {"watchers_week": 0}},
        scores={"p1": 0.87},
    ))  # fmt: skip
    assert (mine.type, mine.text) == ("recommended", "Picked for you on Canal 1")
    assert mine.evidence["score"] == 0.87 and mine.evidence["source"] == "personalised"
    # The zero-viewer tail of a popular list.
    for popularity in ({"p8": {"watchers_week": 0, "watchers": 3}}, {}):
        (tail,) = reasons([offer("p8", "p8")], popularity, "popular_in_bundle")
        assert tail.type == "recommended" and "Popular" not in tail.text, tail
        assert "0 viewers" not in tail.text


def test_a_program_no_channel_carries_is_popular_in_the_catalogue_not_a_bundle() -> None:
    film = replace(offer("m1", "m1"), channel_id=None, channel_name=None, bundle_id=None,
                   kind=None, available_from=None)  # fmt: skip
    (r,) = reasons([film], {"m1": {"watchers_week": 3, "watchers": 9}}, "popular_free")
    assert (r.type, r.text) == ("popular_on_channel", "Popular: 3 viewers this week")


def test_next_episode_names_the_season_only_when_there_is_one() -> None:
    ep = replace(offer("p2", "p2", series="Lupin"), follows_series=True, episode=2)
    (r,) = reasons([ep], {}, "personalised")
    assert r.text == "Next episode of Lupin: season 1, episode 2"
    (r,) = reasons([replace(ep, season=None)], {}, "personalised")
    assert r.text == "Next episode of Lupin: episode 2"
    assert r.evidence["season"] is None


def test_new_this_week_means_first_available_in_the_seven_days_before_now() -> None:
    explainer = Explainer(cast(AsyncDriver, None), Settings())
    # A replay window opened yesterday, but the program first aired 9.8 days ago: not new.
    replay = replace(offer("p1", "p1"), available_from=datetime(2025, 1, 8, 20, tzinfo=UTC))

    def reason(days_ago: float, now: datetime = NOW) -> Reason:
        seconds = NOW.timestamp() - days_ago * 86400
        popularity = {"p1": {"watchers_week": 0, "first_available": seconds}}
        return explainer._reason(
            CTX, replay, source="popular_in_bundle", now=now, anchor=None, model=None,
            watched_anchor=False, co_watch={}, sample=0, counted=audience_of(replay, popularity),
            first_available=first_available_of(replay, popularity),
        )  # fmt: skip

    assert reason(9.8).type == "recommended"
    new = reason(2)
    assert (new.type, new.text) == ("new_this_week", "New this week on Canal 1")
    assert new.evidence["first_available"] == "2025-01-07T20:00:00+00:00"
    assert reason(6.99).type == "new_this_week"
    assert reason(7.01).type == "recommended"
    # First available after now (an upcoming first airing) is not new yet.
    assert reason(-1).type == "recommended"
    # Ten days later the same program is not new any more.
    assert reason(2, now=datetime(2025, 1, 19, 20, tzinfo=UTC)).type == "recommended"


def _similar(n: int, sample: int, *, watched_anchor: bool = False) -> Reason:
    explainer = Explainer(cast(AsyncDriver, None), Settings())
    anchor = {"id": "p9", "title": "Lupin"}
    return explainer._reason(
        CTX, offer("p1", "p1"), source="similar", now=NOW, anchor=anchor, model=None,
        watched_anchor=watched_anchor, co_watch={"p1": n}, sample=sample, counted=None,
    )  # fmt: skip


def test_co_watch_sentences_are_plain_english() -> None:
    assert _similar(7, 32).text == "Similar to Lupin: 7 of 32 of its viewers also watched this"
    assert (
        _similar(7, 32, watched_anchor=True).text
        == "Because you watched Lupin: 7 of 32 of its viewers also watched this"
    )
    assert _similar(5, 5).text == "Similar to Lupin: all 5 of its viewers also watched this"
    assert _similar(1, 1).text == "Similar to Lupin: its only viewer also watched this"
    assert _similar(0, 32).text == "Similar to Lupin"


IMPLEMENTATION_WORDS = re.compile(
    r"\b(read|sample|sampled|source|score|candidate|none|nan|null|true|false)\b|[_{}\[\]]"
)


def test_every_explanation_text_reads_as_plain_english() -> None:
    popularity = {"p1": {"watchers_week": 1, "watchers": 3, "completion": 0.8},
                  "p2": {"watchers_week": 40, "watchers": 90, "completion": None}}  # fmt: skip
    live = replace(offer("p3", "p3"), kind="live")
    texts = [r.text for r in reasons([offer("p1", "p1")], popularity, "best_of_bundle")]
    texts += [r.text for r in reasons([offer("p1", "p1"), offer("p2", "p2"), live],
                                      popularity, "popular_in_bundle")]  # fmt: skip
    texts += [r.text for r in reasons([offer("p5", "p1", series="Lupin")], popularity, "x")]
    texts += [_similar(n, s, watched_anchor=w).text
              for n, s in ((7, 32), (1, 1), (3, 3), (0, 4)) for w in (True, False)]  # fmt: skip
    assert len(set(texts)) >= 8, texts
    for text in texts:
        assert not IMPLEMENTATION_WORDS.search(text.lower()), text
        assert text[0].isupper() and "  " not in text and not text.endswith((" ", ":")), text
        assert re.search(r"\b1 viewers\b|\b[02-9] viewer\b", text) is None, text


def test_a_top_replay_counts_its_viewers_this_week() -> None:
    popularity = {"p1": {"season": None, "episode": None, "watchers_week": 42, "watchers": 90,
                         "completion_week": 0.5}}  # fmt: skip
    (r,) = reasons([offer("p1", "p1")], popularity, "top_replay")
    assert (r.type, r.text) == ("top_replay", "Top replay on Canal 1: 42 viewers this week")
    assert r.evidence["watchers_week"] == 42 and r.evidence["channel_id"] == "c1"
    # Nobody watched it this week: no claim of a top replay.
    (quiet,) = reasons([offer("p1", "p1")], {"p1": {**popularity["p1"], "watchers_week": 0}},
                       "top_replay")  # fmt: skip
    assert quiet.type == "recommended"
