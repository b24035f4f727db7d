"""Explanations drawn from the graph: a reason per rail item, and the explain endpoint.

Reason types:

* ``next_episode`` -- the next episode of a series the user follows;
* ``because_you_watched`` -- close (embedding similarity, co-watchers) to a program the
  user watched (a recent well-completed watch, or the anchor they asked about);
* ``similar_to`` -- close (ditto) to the anchor of a "similar programs" rail, or to an
  anchor the user is not known to have watched: the sentence never claims they did;
* ``you_like_genre`` -- the genre's share of the user's watch time;
* ``popular_on_channel`` -- watchers this week (one at least), on a channel of the user's
  bundle (or in the catalogue, for a program no channel carries);
* ``best_of_bundle`` -- mean completion of this week's watchers, among the bundle's
  programs with enough of them;
* ``top_replay`` -- watchers this week (one at least) of a replay open now on a channel of
  the user's bundle (the top-replay rail);
* ``new_this_week`` -- first available (on any channel) in the seven days before ``now``;
* ``recommended`` -- none of the above holds (say a personalised item close to no
  anchor and of no genre the user watched, or the tail of a popular list, with no viewer
  this week): "Picked for you", with the proposing source's score as evidence.

"This week", for the audience figures, is the seven days before the end of the hour of
``now`` (:mod:`api.rails.popularity`). An episode offered in place of the one a source
ranked (the user's next of its series) carries that episode's figures, and its sentence
names it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver, RoutingControl

from api.model import ServingModel
from api.rails.popularity import WEEK
from api.rails.types import Offer, Reason, UserContext
from graph.queries import query
from graph.settings import Settings

SIMILAR_ENOUGH = 0.3
"""Cosine similarity above which an anchor explains an item."""
CO_WATCH_SAMPLE = 2000


class UnknownProgramError(LookupError):
    """A program id the graph does not hold; the message names it."""


class Explainer:
    def __init__(self, driver: AsyncDriver, settings: Settings):
        self.driver = driver
        self.db = settings.neo4j_database

    async def reasons(
        self,
        ctx: UserContext,
        offers: list[Offer],
        *,
        source: str,
        now: datetime,
        anchor: dict[str, str] | None,
        model: ServingModel | None,
        popularity: dict[str, dict[str, Any]],
        watched_anchor: bool = False,
        scores: dict[str, float | None] | None = None,
    ) -> list[Reason]:
        """One reason per offer, chosen by the source that proposed it; similarities come
        from ``model``, the version that proposed the candidates. Items close to ``anchor``
        say "because you watched" only when ``watched_anchor`` (else "similar to").
        ``scores`` are the source's, by candidate id (the evidence of ``recommended``)."""
        co_watch: dict[str, int] = {}
        sample = 0
        if anchor is not None and source == "similar":
            co_watch, sample = await self.co_watchers(anchor["id"], [o.program_id for o in offers])
        return [
            self._reason(ctx, o, source=source, now=now, anchor=anchor, model=model,
                         watched_anchor=watched_anchor, co_watch=co_watch, sample=sample,
                         counted=audience_of(o, popularity),
                         first_available=first_available_of(o, popularity),
                         score=(scores or {}).get(o.candidate_id))
            for o in offers
        ]  # fmt: skip

    async def co_watchers(
        self, anchor_id: str, program_ids: list[str]
    ) -> tuple[dict[str, int], int]:
        """Co-watchers of the anchor and each program, and how many anchor watchers were read."""
        records, _, _ = await self.driver.execute_query(
            query("rails/co_watchers"), anchor_id=anchor_id, program_ids=program_ids,
            sample=CO_WATCH_SAMPLE, database_=self.db, routing_=RoutingControl.READ,
        )  # fmt: skip
        watchers, _, _ = await self.driver.execute_query(
            query("rails/anchor_watchers"), program_id=anchor_id, database_=self.db,
            routing_=RoutingControl.READ,
        )  # fmt: skip
        sample = min(int(watchers[0]["watchers"]), CO_WATCH_SAMPLE) if watchers else 0
        return {r["program_id"]: int(r["co_watchers"]) for r in records}, sample

    def _reason(
        self,
        ctx: UserContext,
        o: Offer,
        *,
        source: str,
        now: datetime,
        anchor: dict[str, str] | None,
        model: ServingModel | None,
        watched_anchor: bool,
        co_watch: dict[str, int],
        sample: int,
        counted: tuple[str, dict[str, Any]] | None,
        first_available: datetime | None = None,
        score: float | None = None,
    ) -> Reason:
        where = f" on {o.channel_name}" if o.channel_name else ""
        if o.series_id and o.follows_series and o.series_title and o.episode is not None:
            season = f"season {o.season}, " if o.season is not None else ""
            return Reason(
                "next_episode",
                f"Next episode of {o.series_title}: {season}episode {o.episode}",
                {"series_id": o.series_id, "season": o.season, "episode": o.episode},
            )
        if anchor is not None and source == "similar":
            sim = model.similarity(anchor["id"], o.candidate_id) if model else None
            n = co_watch.get(o.program_id, 0)
            kind, text = (
                ("because_you_watched", f"Because you watched {anchor['title']}")
                if watched_anchor
                else ("similar_to", f"Similar to {anchor['title']}")
            )
            if n:
                text += f": {co_watched(n, sample)}"
            return Reason(kind, text, {
                "anchor_id": anchor["id"], "anchor_title": anchor["title"],
                "similarity": sim, "co_watchers": n, "anchor_viewers_read": sample})  # fmt: skip
        if source == "personalised" and model is not None:
            best = max(
                ((a, model.similarity(a["id"], o.program_id) or -1.0) for a in ctx.anchors),
                key=lambda pair: pair[1],
                default=None,
            )
            if best is not None and best[1] >= SIMILAR_ENOUGH:
                a, sim = best
                return Reason("because_you_watched", f"Because you watched {a['title']}",
                              {"anchor_id": a["id"], "anchor_title": a["title"],
                               "similarity": round(sim, 4)})  # fmt: skip
            liked = max(
                ((g, ctx.genre_share[g]) for g in o.genres if g in ctx.genre_share),
                key=lambda pair: pair[1][1],
                default=None,
            )
            if liked is not None:
                genre_id, (name, share) = liked
                return Reason("you_like_genre",
                              f"You like {name}: {share:.0%} of your watch time",
                              {"genre_id": genre_id, "share": round(share, 4)})  # fmt: skip
        # An episode offered in place of another of its series (the next one to watch) is
        # there for the episode the source ranked: its audience, and the sentence names it.
        audience = counted[1] if counted else None
        stands_in = counted is not None and counted[0] != o.program_id
        evidence_of = {"counted_program_id": counted[0]} if counted and stands_in else {}
        if source == "best_of_bundle" and audience and audience.get("completion_week") is not None:
            of = episode_name(audience, o.series_title) if stands_in else "it"
            return Reason(
                "best_of_bundle",
                f"Among the most completed in your bundle: "
                f"{viewers(int(audience['watchers_week']))} this week watched on average "
                f"{audience['completion_week']:.0%} of {of}",
                {"completion_week": audience["completion_week"],
                 "watchers_week": audience["watchers_week"], "bundle_id": o.bundle_id,
                 **evidence_of},
            )  # fmt: skip
        if source == "top_replay" and audience and audience.get("watchers_week"):
            who = viewers(int(audience["watchers_week"]))
            if stands_in:
                who += f" of an episode of {o.series_title or 'its series'}"
            return Reason(
                "top_replay",
                f"Top replay{where}: {who} this week",
                {"channel_id": o.channel_id, "bundle_id": o.bundle_id,
                 "watchers_week": audience["watchers_week"],
                 "available_until": o.available_until.isoformat() if o.available_until else None,
                 **evidence_of},
            )  # fmt: skip
        if first_available is not None and now - WEEK <= first_available <= now:
            return Reason("new_this_week", f"New this week{where}",
                          {"first_available": first_available.isoformat(),
                           "channel_id": o.channel_id})  # fmt: skip
        week = int(audience["watchers_week"]) if audience else 0
        if not week:
            # Nobody watched it this week: popularity would be a false claim.
            return Reason("recommended", f"Picked for you{where}",
                          {"source": source, "score": score, "watchers_week": 0,
                           "channel_id": o.channel_id, "bundle_id": o.bundle_id})  # fmt: skip
        who = viewers(week)
        if stands_in:
            who += f" of an episode of {o.series_title or 'its series'}"
        # A program no channel carries (MovieLens) is counted over the whole catalogue.
        in_bundle = " in your bundle" if o.bundle_id else ""
        return Reason(
            "popular_on_channel",
            f"Popular{where}{in_bundle}: {who} this week",
            {"channel_id": o.channel_id, "bundle_id": o.bundle_id, "watchers_week": week,
             **evidence_of},
        )  # fmt: skip


def viewers(n: int) -> str:
    return "1 viewer" if n == 1 else f"{n} viewers"


def episode_name(audience: dict[str, Any], series_title: str | None) -> str:
    """The episode whose ``audience`` row is counted, as a sentence names it:
    "season 1, episode 7 of Lupin" (without a season: "episode 7 of Lupin")."""
    series = series_title or "its series"
    if audience.get("episode") is None:
        return f"another episode of {series}"
    season = f"season {audience['season']}, " if audience.get("season") is not None else ""
    return f"{season}episode {audience['episode']} of {series}"


def first_available_of(offer: Offer, popularity: dict[str, dict[str, Any]]) -> datetime | None:
    """When the program offered was first available, on any channel (None: unknown)."""
    seconds = popularity.get(offer.program_id, {}).get("first_available")
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def co_watched(n: int, viewers: int) -> str:
    """How many of the anchor's viewers (``viewers``: those counted, at most the sample the
    query reads) also watched the program, as a user reads it."""
    if viewers == 1:
        return "its only viewer also watched this"
    if n == viewers:
        return f"all {viewers} of its viewers also watched this"
    return f"{n} of {viewers} of its viewers also watched this"


def audience_of(
    offer: Offer, popularity: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any]] | None:
    """The program whose audience stands behind ``offer``, and that audience: the candidate
    the source ranked (for an episode offered in its place, the next one of its series),
    else the program offered; None when neither is in ``popularity``."""
    for program_id in (offer.candidate_id, offer.program_id):
        if (audience := popularity.get(program_id)) is not None:
            return program_id, audience
    return None
