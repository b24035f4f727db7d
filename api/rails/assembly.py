"""Filling a rail: sources page by page, eligibility, caps per genre and channel, one
episode per series, backfill, explanations, and the sentence an empty rail says."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from api.model import ServingModel
from api.rails.context import ceiling_level
from api.rails.eligibility import PERSONALISED_RAILS, Fatigue
from api.rails.popularity import BEST_OF_MIN_WATCHERS, Audience
from api.rails.ranking import RANKED_SOURCES, Ranked
from api.rails.reasons import Explainer
from api.rails.types import (
    Candidates,
    EligibilityCount,
    Offer,
    Rail,
    RailItem,
    Source,
    UserContext,
)
from gnn.ranker import UserFacts
from graph.settings import Settings

OFFERS_PER_ITEM = 2
"""Eligibility is asked for the first ``OFFERS_PER_ITEM * limit`` offers among a source's
candidates, then, if post-ranking (caps per genre and channel, one episode per series) left
the rail short, for all the candidates after them."""


class Backend(Protocol):
    """What a rail is filled from (the rails service)."""

    settings: Settings
    fatigue: Fatigue
    explainer: Explainer

    async def offers(
        self,
        ctx: UserContext,
        program_ids: list[str],
        *,
        now: datetime,
        rail: str,
        max_offers: int | None = None,
        kinds: Collection[str] | None = None,
        skip_series: Collection[str] = (),
        count: EligibilityCount | None = None,
    ) -> list[Offer]: ...

    async def merged(self, bundles: Sequence[str | None], now: datetime) -> Audience: ...

    async def audience(self, ctx: UserContext, now: datetime) -> dict[str, dict[str, Any]]: ...

    async def rank(
        self,
        ctx: UserContext,
        offers: Sequence[Offer],
        scores: Mapping[str, float | None],
        *,
        now: datetime,
        model: ServingModel,
        user: UserFacts | None = None,
    ) -> Ranked: ...


async def assemble(
    backend: Backend,
    rail_name: str,
    title: str,
    ctx: UserContext,
    chain: list[Source],
    *,
    now: datetime,
    limit: int,
    model: ServingModel | None,
    anchor: dict[str, str] | None = None,
    watched_anchor: bool = False,
    replays: bool = False,
) -> Rail:
    """The rail of ``chain``'s candidates, explained with ``model``: the version the
    request started with, whatever is swapped in meanwhile. Items close to ``anchor``
    are explained as "because you watched" it only when ``watched_anchor``; ``replays``:
    it offers only replays open now."""
    kinds = ("replay",) if replays else None
    settings = backend.settings
    rail = Rail(rail=rail_name, title=title, bundles=list(ctx.bundles),
                csa_ceiling_level=ceiling_level(ctx, settings),
                model_version=model.version if model is not None else None,
                anchor_id=anchor["id"] if anchor else None)  # fmt: skip
    # A rail about a program never offers that program (its backfill could).
    caps = _Caps(settings, seen_programs={anchor["id"]} if anchor else set())
    offered_series: set[str] = set()
    if not ctx.bundles and "availability" not in ctx.not_applicable:
        rail.empty_reason = empty_reason(  # no channel reaches the user
            ctx, settings, backend.fatigue, rail=rail_name, replays=replays
        )
        return rail
    async for index, source, proposed in pages(chain, caps.seen_programs, settings.candidates):
        if not proposed:
            continue
        scores = dict(proposed)
        added: list[tuple[Offer, float | None]] = []
        ids = [p for p, _ in proposed]
        start = 0
        wanted: int | None = OFFERS_PER_ITEM * limit
        ranked: Ranked | None = None
        if model is not None and model.ranker is not None and source in RANKED_SOURCES:
            # The ranker orders every eligible offer of the page, so eligibility is asked
            # for all of them at once (as many offers as candidates: the home rail's first
            # round trip asks the same); post-ranking then takes them in P(complete) order.
            offers = await backend.offers(
                ctx, ids, now=now, rail=rail_name, max_offers=len(ids), kinds=kinds,
                skip_series=offered_series, count=rail.eligibility,
            )  # fmt: skip
            offered_series.update(o.series_id for o in offers if o.series_id)
            ranked = await backend.rank(ctx, offers, scores, now=now, model=model)
            p = ranked.probabilities
            if p is None:
                rail.ranker_fallback = ranked.fallback
            else:
                offers = sorted(offers, key=lambda o: -p[o.candidate_id])  # stable on ties
            for offer in offers:
                if len(rail.items) + len(added) >= limit:
                    break
                if caps.admit(offer):
                    added.append((offer, scores.get(offer.candidate_id)))
            start = len(ids)  # nothing left to ask
        while start < len(ids) and len(rail.items) + len(added) < limit:
            # Candidates are independent in eligibility, so asking for the first offers
            # of the rest of the list gives the same offers in the same order as asking
            # for all of them; a rail that fills from its first offers never pays for
            # evaluating the candidates after them. A rail still short takes all the
            # rest at once (one more round trip, not one per doubling).
            offers = await backend.offers(
                ctx, ids[start:], now=now, rail=rail_name, max_offers=wanted,
                kinds=kinds, skip_series=offered_series, count=rail.eligibility,
            )  # fmt: skip
            if wanted is not None and len(offers) == wanted:
                start += offers[-1].rank + 1
            else:
                start = len(ids)
            wanted = None
            # A series offered once can only be dropped again: the rail keeps at most
            # one episode per series, and its caps per genre and channel only fill up.
            offered_series.update(o.series_id for o in offers if o.series_id)
            for offer in offers:
                if len(rail.items) + len(added) >= limit:
                    break
                if caps.admit(offer):
                    added.append((offer, scores.get(offer.candidate_id)))
        if added:
            rail.sources.append(source)
            reasons = await backend.explainer.reasons(
                ctx, [o for o, _ in added], source=source, now=now, anchor=anchor,
                model=model, popularity=await backend.audience(ctx, now),
                watched_anchor=watched_anchor,
                scores={o.candidate_id: s for o, s in added},
            )  # fmt: skip
            p_complete = ranked.probabilities if ranked is not None else None
            backfill = index > 0 and rail_name != source
            for (o, s), r in zip(added, reasons, strict=True):
                if p_complete is None:
                    rail.items.append(RailItem(o, s, source, backfill=backfill, reason=r))
                else:
                    rail.items.append(RailItem(o, p_complete[o.candidate_id], source,
                                               backfill=backfill, reason=r,
                                               score_kind="p_complete"))  # fmt: skip
        caps.seen_programs.update(p for p, _ in proposed)
        if len(rail.items) >= limit:
            break  # before the next page: a later source is never even asked
    if not rail.items:
        rail.empty_reason = empty_reason(
            ctx, settings, backend.fatigue, rail=rail_name, replays=replays
        )
    return rail


class _Caps:
    """Post-ranking: a program once, one episode per series, at most ``max_per_genre`` items
    per main genre (an item's first) and ``max_per_channel`` per channel."""

    def __init__(self, settings: Settings, *, seen_programs: set[str]) -> None:
        self.settings = settings
        self.seen_programs = seen_programs
        self.seen_series: set[str] = set()
        self.genres: Counter[str] = Counter()
        self.channels: Counter[str] = Counter()

    def admit(self, offer: Offer) -> bool:
        """Whether ``offer`` fits the rail; if it does, it is counted in."""
        if offer.program_id in self.seen_programs or (offer.series_id in self.seen_series):
            return False
        main_genre = offer.genres[0] if offer.genres else None
        if main_genre is not None and self.genres[main_genre] >= self.settings.max_per_genre:
            return False
        if offer.channel_id and (self.channels[offer.channel_id] >= self.settings.max_per_channel):
            return False
        self.seen_programs.update({offer.program_id, offer.candidate_id})
        if offer.series_id:
            self.seen_series.add(offer.series_id)
        if main_genre is not None:
            self.genres[main_genre] += 1
        if offer.channel_id:
            self.channels[offer.channel_id] += 1
        return True


async def pages(
    chain: list[Source], seen: set[str], n: int
) -> AsyncIterator[tuple[int, str, Candidates]]:
    """The candidates the rail considers, source by source, leaving out ``seen`` ones.

    A source proposes its first ``n``. The sources that hold everything the user's
    bundles carry (popular in the bundle, and the chain's last) go on to the end of their
    list while the rail is short, in pages that double, so an empty rail means nothing is
    eligible, as its reason says, without evaluating a whole catalogue for a rail that
    one more page fills.
    """
    for index, (source, candidates) in enumerate(chain):
        found = await candidates()
        if source not in ("popular_in_bundle", "top_replay") and index < len(chain) - 1:
            yield index, source, [c for c in found if c[0] not in seen][:n]
            continue
        first, size = 0, n
        while first < len(found):
            yield index, source, [c for c in found[first : first + size] if c[0] not in seen]
            first, size = first + size, 2 * size


# ------------------------------------------------------------ empty reasons
def empty_reason(
    ctx: UserContext,
    settings: Settings,
    fatigue: Fatigue,
    *,
    rail: str,
    bundles: Sequence[str] | None = None,
    best: bool = False,
    replays: bool = False,
) -> str:
    """Why ``rail``, which searched ``bundles`` (default: all the user's), is empty, naming
    every rule that leaves programs out under ``settings`` and ``fatigue``. ``best``: it
    searched only their programs with ``BEST_OF_MIN_WATCHERS`` watchers this week or more;
    ``replays``: it offers only replays open now."""
    if not ctx.bundles:
        return "no bundle is available to this user (no subscription and no free bundle)"
    ceiling = ctx.csa_ceiling or settings.anonymous_csa_ceiling
    searched = list(ctx.bundles if bundles is None else bundles)
    what = f"bundle {searched[0]}" if len(searched) == 1 else f"bundles {', '.join(searched)}"
    among = (
        f"among the programs of {what} with {BEST_OF_MIN_WATCHERS} watchers this week or more"
        if best
        else f"in {what}"
    )
    if settings.banned_genres:
        among += f" outside the banned genres {', '.join(settings.banned_genres)}"
    where = f" in {ctx.country}" if ctx.country else ""
    when = "now" if replays else f"in the next {settings.window_days:g} days"
    # Each rule that may leave programs out (unless it is off) is named.
    left_out = ["already watched", "blacklisted"]
    if fatigue.programs:
        left_out.append("recently abandoned (the program, its series or its channel)")
    if settings.impression_rails and rail in PERSONALISED_RAILS:
        left_out.append(
            f"been shown in {settings.impression_rails} rails in the last "
            f"{settings.impression_days} days without watching"
        )
    rules = ", ".join(left_out[:-1]) + f" or {left_out[-1]}"
    return (
        f"{'no replay' if replays else 'nothing'} {among} is available{where} {when} "
        f"within CSA ceiling {ceiling} that this user has not {rules}"
    )


async def bundle_empty_reason(
    backend: Backend, ctx: UserContext, bundle_id: str, *, now: datetime, best: bool
) -> str:
    """Why the rail of ``bundle_id`` alone (no backfill) is empty: it names that bundle,
    not the user's others, which the rail did not search."""
    if bundle_id not in ctx.bundles:
        who = f"user {ctx.user_id}" if ctx.user_id else "an anonymous user"
        held = ", ".join(ctx.bundles) or "none"
        return f"{who} does not hold bundle {bundle_id} (bundles held: {held})"
    if best and not (await backend.merged([bundle_id], now)).ranked(best=True):
        return (
            f"no program of bundle {bundle_id} has the {BEST_OF_MIN_WATCHERS} watchers this "
            "week or more that best of bundle needs"
        )
    return empty_reason(
        ctx, backend.settings, backend.fatigue, rail="best_of_bundle" if best else
        "popular_in_bundle", bundles=[bundle_id], best=best,
    )  # fmt: skip


def no_anchor_reason(ctx: UserContext, settings: Settings) -> str:
    """Why a user has no "because you watched" rail."""
    share = f"{settings.completion_threshold:.0%}"
    if not ctx.known:
        return (
            f"user {ctx.user_id} is unknown, so has no watches to start from: "
            "the home rail has their bundle's default"
        )
    if not ctx.watched:
        return f"user {ctx.user_id} has watched nothing yet: the home rail has their default"
    return (
        f"none of the {ctx.watched} programs user {ctx.user_id} watched was watched to "
        f"{share} or more, which a watch needs to start a rail"
    )
