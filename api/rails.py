"""The rails pipeline: candidate sources -> eligibility (Cypher) -> post-ranking -> explanations.

A rail walks a named fallback chain of sources. Each source proposes ranked
program ids; eligibility filters them in one round trip per source; post-ranking
keeps at most ``max_per_genre`` / ``max_per_channel`` items per genre / channel
and one episode per series. Items that come from a later source than the
first are marked ``backfill``. Every item carries an explanation drawn from
the graph (see :mod:`api.explain`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from neo4j import AsyncDriver, RoutingControl

from api.eligibility import Fatigue, Offer, eligible_offers
from api.explain import Explainer, Reason
from api.model import RecentWatch, ServingModel, UserVector
from graph.domain import CSA_LEVELS
from graph.queries import query
from graph.settings import Settings

WEEK = timedelta(days=7)
MIN_HISTORY = 3
"""Users with fewer watches get the non-personalised rail of their bundle (for a user the
model does not know: fewer watches of programs it knows, see :mod:`api.model`)."""
ANCHORS = 5
"""Recent well-completed watches used as "because you watched" anchors."""
BEST_OF_MIN_WATCHERS = 5
OFFERS_PER_ITEM = 2
"""Eligibility is asked for the first ``OFFERS_PER_ITEM * limit`` offers among a source's
candidates, then, if post-ranking (caps per genre and channel, one episode per series) left
the rail short, for all the candidates after them."""


@dataclass
class UserContext:
    user_id: str | None
    known: bool
    csa_ceiling: str | None
    csa_ceiling_level: int | None
    """The level eligibility compares with (None: the user gets the anonymous ceiling)."""
    bundles: list[str]
    free_bundles: list[str]
    watched: int
    anchors: list[dict[str, str]]
    recent: list[RecentWatch]
    """The last ``fold_in_watches`` watches, most recent first (the fold-in's input)."""
    genre_share: dict[str, tuple[str, float]]
    """genre id -> (name, share of the user's watch time): the seconds of the watches of
    the genre's programs over those of all their watches (a program of two genres counts
    for both, so the shares can add up to more than 1)."""
    not_applicable: list[str]


@dataclass
class RailItem:
    offer: Offer
    score: float | None
    source: str
    backfill: bool
    reason: Reason


@dataclass
class Rail:
    rail: str
    title: str
    items: list[RailItem] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    empty_reason: str | None = None
    anchor_id: str | None = None
    csa_ceiling_level: int = 0
    """The CSA ceiling the rail was filtered with (what the served log records)."""
    bundles: list[str] = field(default_factory=list)
    """The bundles the user could watch when the rail was computed (ditto)."""
    model_version: str | None = None
    """The model version the rail was computed with, for its candidates and its
    explanations alike (None: no model); what the response and the served log report."""


Candidates = list[tuple[str, float | None]]
Source = tuple[str, Callable[[], Awaitable[Candidates]]]


class Audience:
    """Popularity rows of several bundles merged by program (the first bundle's row wins),
    with the rankings the popular and best-of-bundle sources draw from them."""

    def __init__(self, lists: tuple[list[dict[str, Any]], ...]):
        self.lists = lists
        self.by_program: dict[str, dict[str, Any]] = {}
        for rows in lists:
            for row in rows:
                self.by_program.setdefault(row["program_id"], row)
        self._ranked: dict[bool, Candidates] = {}

    def ranked(self, *, best: bool) -> Candidates:
        """Most watched this week first; with ``best``, most completed first.

        The list is shared between requests: callers must not modify it.
        """
        if best not in self._ranked:
            rows = list(self.by_program.values())
            if best:
                rows = [r for r in rows if r["watchers"] >= BEST_OF_MIN_WATCHERS
                        and r["completion"] is not None]  # fmt: skip
                rows.sort(key=lambda r: (-r["completion"], -r["watchers"], r["program_id"]))
                self._ranked[best] = [(r["program_id"], float(r["completion"])) for r in rows]
            else:
                rows.sort(key=lambda r: (-r["watchers_week"], -r["watchers"], r["program_id"]))
                self._ranked[best] = [(r["program_id"], float(r["watchers_week"])) for r in rows]
        return self._ranked[best]


class RailsService:
    """Everything a request needs, built once in the lifespan."""

    def __init__(self, driver: AsyncDriver, settings: Settings, model: ServingModel | None):
        self.driver = driver
        self.settings = settings
        self.model = model
        self.db = settings.neo4j_database
        self.explainer = Explainer(driver, settings)
        self._popularity: dict[tuple[str | None, int], tuple[float, list[dict[str, Any]]]] = {}
        self._loading: dict[tuple[str | None, int], asyncio.Lock] = {}
        self._audiences: dict[tuple[str | None, ...], Audience] = {}
        # Admission: at most this many rail computations at once (see the setting).
        self.waiting = 0
        self.in_flight = 0
        self._turns = (
            asyncio.Semaphore(settings.max_concurrent_rails)
            if settings.max_concurrent_rails
            else None
        )
        self.fatigue = Fatigue(
            completion=settings.fatigue_completion, programs=settings.fatigue_programs,
            series=settings.fatigue_series, channels=settings.fatigue_channels,
        )  # fmt: skip

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for one of the ``max_concurrent_rails`` turns, hold it while the block runs
        (``waiting`` and ``in_flight`` count the requests at each stage, for the metrics)."""
        self.waiting += 1
        try:
            if self._turns is not None:
                await self._turns.acquire()
        finally:
            self.waiting -= 1
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            if self._turns is not None:
                self._turns.release()

    def swap_model(self, model: ServingModel | None) -> None:
        """Serve from ``model`` from the next request on. A request reads ``self.model``
        once, when it starts, and computes everything from that version (candidates,
        explanations and the version it reports), so requests under way finish on the
        one they started with."""
        self.model = model

    async def bundles(self) -> set[str]:
        """Ids of every bundle (cached like popularity)."""
        key = ("__bundles__", 0)
        cached = self._popularity.get(key)
        if cached and time.monotonic() - cached[0] < self.settings.popularity_ttl_s:
            return {r["bundle_id"] for r in cached[1]}
        records, _, _ = await self.driver.execute_query(
            query("rails/bundles"), database_=self.db, routing_=RoutingControl.READ
        )
        rows = [r.data() for r in records]
        self._popularity[key] = (time.monotonic(), rows)
        return {r["bundle_id"] for r in rows}

    # ------------------------------------------------------------ context
    async def context(self, user_id: str | None, now: datetime) -> UserContext:
        records, _, _ = await self.driver.execute_query(
            query("rails/user_context"),
            user_id=user_id, now=now, anchors=ANCHORS, recent=self.settings.fold_in_watches,
            anchor_completion=self.settings.completion_threshold,
            database_=self.db, routing_=RoutingControl.READ,
        )  # fmt: skip
        r = records[0]
        # Of all the user's watch time, each watch once: summing the genres' seconds would
        # count a program of two genres twice.
        total = r["watched_seconds"] or 1
        return UserContext(
            user_id=user_id,
            known=r["known"],
            csa_ceiling=r["csa_ceiling"],
            csa_ceiling_level=r["csa_ceiling_level"],
            bundles=sorted(r["bundles"]),
            free_bundles=sorted(r["free_bundles"]),
            watched=r["watched"],
            anchors=[a for a in r["anchors"] if a],
            recent=[RecentWatch(p, c, t) for p, c, t in r["recent"]],
            genre_share={
                g["genre_id"]: (g["genre"], g["seconds"] / total) for g in r["genre_time"]
            },
            not_applicable=list(r["not_applicable"] or []),
        )

    # ------------------------------------------------------------ rails
    async def home(self, user_id: str, *, now: datetime, limit: int) -> Rail:
        model = self.model  # one version for the whole request, even if swapped meanwhile
        ctx = await self.context(user_id, now)
        vector = (
            model.user_vector(user_id, ctx.recent, min_watches=MIN_HISTORY)
            if model is not None and ctx.watched >= MIN_HISTORY
            else None
        )
        personal = model is not None and vector is not None
        chain: list[Source] = []
        if model is not None and vector is not None:
            chain.append(("personalised", self._personal(model, vector, ctx, now)))
        chain += self._defaults(ctx, now)
        title = "For you" if personal else "Popular in your bundle"
        return await self._assemble("home", title, ctx, chain, now=now, limit=limit, model=model)

    async def because_you_watched(
        self, user_id: str, *, program_id: str | None, now: datetime, limit: int, rails: int = 3
    ) -> tuple[list[Rail], str | None]:
        """The rails, and why there are none when there are none."""
        model = self.model  # one version for every rail of the request (see swap_model)
        ctx = await self.context(user_id, now)
        # The user's anchors are their well-completed watches. A program the caller names
        # may never have been watched: its rail then says "similar to", not "you watched".
        anchors = [(a, True) for a in ctx.anchors[:rails]]
        if program_id:
            program = await self.explainer.program(program_id, user_id=user_id)
            anchors = [({"id": program_id, "title": str(program["title"])}, program["watched"])]
        out = []
        for anchor, watched in anchors:
            chain: list[Source] = [("similar", self._similar(anchor["id"], model))]
            chain += self._defaults(ctx, now)
            title = f"{'Because you watched' if watched else 'Similar to'} {anchor['title']}"
            rail = await self._assemble(
                "because_you_watched", title, ctx, chain, now=now, limit=limit, anchor=anchor,
                watched_anchor=watched, model=model,
            )  # fmt: skip
            out.append(rail)
        return out, None if out else self._no_anchor_reason(ctx)

    def _no_anchor_reason(self, ctx: UserContext) -> str:
        share = f"{self.settings.completion_threshold:.0%}"
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

    async def similar(
        self, program_id: str, *, user_id: str | None, now: datetime, limit: int
    ) -> Rail:
        model = self.model
        ctx = await self.context(user_id, now)
        anchor = {"id": program_id, "title": await self.explainer.title(program_id)}
        chain: list[Source] = [("similar", self._similar(program_id, model))]
        chain += self._defaults(ctx, now)
        return await self._assemble(
            "similar", f"Similar to {anchor['title']}", ctx, chain, now=now, limit=limit,
            anchor=anchor, model=model,
        )  # fmt: skip

    async def popular(
        self, *, user_id: str | None, bundle_id: str | None, now: datetime, limit: int, best: bool
    ) -> Rail:
        model = self.model
        ctx = await self.context(user_id, now)
        bundles = [bundle_id] if bundle_id else ctx.bundles
        name = "best_of_bundle" if best else "popular_in_bundle"
        chain: list[Source] = [(name, self._popular_source(bundles, now, best=best))]
        if bundle_id is None:
            chain += [s for s in self._defaults(ctx, now) if s[0] != name]
        title = "Best of your bundle" if best else "Popular in your bundle this week"
        rail = await self._assemble(name, title, ctx, chain, now=now, limit=limit, model=model)
        if not rail.items and bundle_id:
            rail.empty_reason = await self._bundle_empty_reason(ctx, bundle_id, now=now, best=best)
        return rail

    async def _bundle_empty_reason(
        self, ctx: UserContext, bundle_id: str, *, now: datetime, best: bool
    ) -> str:
        """Why the rail of ``bundle_id`` alone (no backfill) is empty: it names that bundle,
        not the user's others, which the rail did not search."""
        if bundle_id not in ctx.bundles:
            who = f"user {ctx.user_id}" if ctx.user_id else "an anonymous user"
            held = ", ".join(ctx.bundles) or "none"
            return f"{who} does not hold bundle {bundle_id} (bundles held: {held})"
        if best and not (await self._merged([bundle_id], now)).ranked(best=True):
            return (
                f"no program of bundle {bundle_id} has the {BEST_OF_MIN_WATCHERS} watchers or "
                "more that best of bundle needs"
            )
        return self._empty_reason(ctx, bundles=[bundle_id], best=best)

    # ------------------------------------------------------------ sources
    def _personal(
        self, model: ServingModel, vector: UserVector, ctx: UserContext, now: datetime
    ) -> Callable[[], Awaitable[Candidates]]:
        async def run() -> Candidates:
            found: Candidates = list(model.for_vector(vector.vector, self.settings.candidates))
            s = self.settings
            if s.popularity_blend == 0 and s.freshness_blend == 0:
                return found
            audience = await self._audience(ctx, now)
            return blend(found, audience, now=now, popularity=s.popularity_blend,
                         freshness=s.freshness_blend)  # fmt: skip

        return run

    def _similar(
        self, program_id: str, model: ServingModel | None
    ) -> Callable[[], Awaitable[Candidates]]:
        async def run() -> Candidates:
            if model is None:
                return []
            return list(model.similar(program_id, self.settings.candidates))

        return run

    def _defaults(self, ctx: UserContext, now: datetime) -> list[Source]:
        chain: list[Source] = []
        if ctx.bundles and ctx.bundles != ctx.free_bundles:
            chain.append(("popular_in_bundle", self._popular_source(ctx.bundles, now, best=False)))
            chain.append(("best_of_bundle", self._popular_source(ctx.bundles, now, best=True)))
        # No bundle at all in the graph (MovieLens): the whole catalogue.
        free: list[str | None] = list(ctx.free_bundles) or ([] if ctx.bundles else [None])
        chain.append(("popular_free", self._popular_source(free, now, best=False)))
        return chain

    def _popular_source(
        self, bundles: Sequence[str | None], now: datetime, *, best: bool
    ) -> Callable[[], Awaitable[Candidates]]:
        async def run() -> Candidates:
            return (await self._merged(bundles, now)).ranked(best=best)

        return run

    async def _merged(self, bundles: Sequence[str | None], now: datetime) -> Audience:
        """The popularity lists of ``bundles`` merged by program, cached while they are.

        Merging and sorting thousands of rows cost more than the rest of a request, and
        they only change when one of the cached lists is refreshed.
        """
        lists = tuple([await self.popularity(bundle, now) for bundle in bundles])
        key = tuple(bundles)
        cached = self._audiences.get(key)
        if cached is not None and all(a is b for a, b in zip(cached.lists, lists, strict=True)):
            return cached
        merged = Audience(lists)
        self._audiences[key] = merged
        return merged

    async def popularity(self, bundle_id: str | None, now: datetime) -> list[dict[str, Any]]:
        """Audience of the programs of a bundle (None: the whole catalogue), cached."""
        hour = int(now.timestamp()) // 3600
        key = (bundle_id, hour)
        cached = self._fresh_popularity(key)
        if cached is not None:
            return cached
        # One query per list, however many requests find it missing at once.
        async with self._loading.setdefault(key, asyncio.Lock()):
            cached = self._fresh_popularity(key)
            if cached is not None:
                return cached
            statement = "rails/bundle_popularity" if bundle_id else "rails/catalogue_popularity"
            end = datetime.fromtimestamp((hour + 1) * 3600, UTC)
            records, _, _ = await self.driver.execute_query(
                # "This week" ends with the hour of now: one list serves the whole hour,
                # whichever request fills it, and never counts a watch after that hour.
                query(statement), bundle_id=bundle_id, since=end - WEEK, until=end,
                database_=self.db, routing_=RoutingControl.READ,
            )  # fmt: skip
            rows = [r.data() for r in records]
            self._forget_expired()
            self._popularity[key] = (time.monotonic(), rows)
        return rows

    def _forget_expired(self) -> None:
        """Drop expired lists (each hour of ``now`` has its own), so the cache stays bounded."""
        limit = time.monotonic() - self.settings.popularity_ttl_s
        for key in [k for k, (at, _) in self._popularity.items() if at < limit]:
            del self._popularity[key]
            lock = self._loading.get(key)
            if lock is not None and not lock.locked():
                del self._loading[key]

    def _fresh_popularity(self, key: tuple[str | None, int]) -> list[dict[str, Any]] | None:
        cached = self._popularity.get(key)
        if cached and time.monotonic() - cached[0] < self.settings.popularity_ttl_s:
            return cached[1]
        return None

    # ------------------------------------------------------------ assembly
    async def _assemble(
        self,
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
    ) -> Rail:
        """The rail of ``chain``'s candidates, explained with ``model``: the version the
        request started with, whatever is swapped in meanwhile. Items close to ``anchor``
        are explained as "because you watched" it only when ``watched_anchor``."""
        rail = Rail(rail=rail_name, title=title, bundles=list(ctx.bundles),
                    csa_ceiling_level=self.ceiling_level(ctx),
                    model_version=model.version if model is not None else None,
                    anchor_id=anchor["id"] if anchor else None)  # fmt: skip
        # A rail about a program never offers that program (its backfill could).
        seen_programs: set[str] = {anchor["id"]} if anchor else set()
        seen_series: set[str] = set()
        offered_series: set[str] = set()
        genres: Counter[str] = Counter()
        channels: Counter[str] = Counter()
        if not ctx.bundles and "availability" not in ctx.not_applicable:
            rail.empty_reason = self._empty_reason(ctx)  # no channel reaches this user
            return rail
        async for index, source, proposed in self._pages(chain, seen_programs):
            if not proposed:
                continue
            scores = dict(proposed)
            added: list[tuple[Offer, float | None]] = []
            ids = [p for p, _ in proposed]
            start = 0
            wanted: int | None = OFFERS_PER_ITEM * limit
            while start < len(ids) and len(rail.items) + len(added) < limit:
                # Candidates are independent in eligibility, so asking for the first offers
                # of the rest of the list gives the same offers in the same order as asking
                # for all of them; a rail that fills from its first offers never pays for
                # evaluating the candidates after them. A rail still short takes all the
                # rest at once (one more round trip, not one per doubling).
                offers = await self.offers(
                    ctx, ids[start:], now=now, max_offers=wanted, skip_series=offered_series
                )
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
                    if offer.program_id in seen_programs or (offer.series_id in seen_series):
                        continue
                    if any(genres[g] >= self.settings.max_per_genre for g in offer.genres):
                        continue
                    if offer.channel_id and (
                        channels[offer.channel_id] >= self.settings.max_per_channel
                    ):
                        continue
                    seen_programs.update({offer.program_id, offer.candidate_id})
                    if offer.series_id:
                        seen_series.add(offer.series_id)
                    genres.update(offer.genres)
                    if offer.channel_id:
                        channels[offer.channel_id] += 1
                    added.append((offer, scores.get(offer.candidate_id)))
            if added:
                rail.sources.append(source)
                reasons = await self.explainer.reasons(
                    ctx, [o for o, _ in added], source=source, now=now, anchor=anchor,
                    model=model, popularity=await self._audience(ctx, now),
                    watched_anchor=watched_anchor,
                    scores={o.candidate_id: s for o, s in added},
                )  # fmt: skip
                rail.items += [
                    RailItem(o, s, source, backfill=index > 0 and rail_name != source, reason=r)
                    for (o, s), r in zip(added, reasons, strict=True)
                ]
            seen_programs.update(p for p, _ in proposed)
            if len(rail.items) >= limit:
                break  # before the next page: a later source is never even asked
        if not rail.items:
            rail.empty_reason = self._empty_reason(ctx)
        return rail

    async def _pages(
        self, chain: list[Source], seen: set[str]
    ) -> AsyncIterator[tuple[int, str, Candidates]]:
        """The candidates the rail considers, source by source, leaving out ``seen`` ones.

        A source proposes its first ``candidates``. The sources that hold everything the
        user's bundles carry (popular in the bundle, and the chain's last) go on to the
        end of their list while the rail is short, in pages that double, so an empty
        rail means nothing is eligible, as its reason says, without evaluating a whole
        catalogue for a rail that one more page fills.
        """
        n = self.settings.candidates
        for index, (source, candidates) in enumerate(chain):
            found = await candidates()
            if source != "popular_in_bundle" and index < len(chain) - 1:
                yield index, source, [c for c in found if c[0] not in seen][:n]
                continue
            first, size = 0, n
            while first < len(found):
                yield index, source, [c for c in found[first : first + size] if c[0] not in seen]
                first, size = first + size, 2 * size

    def ceiling_level(self, ctx: UserContext) -> int:
        """The CSA level eligibility allows ``ctx``'s user (the anonymous ceiling when the
        graph has none)."""
        if ctx.csa_ceiling_level is not None:
            return int(ctx.csa_ceiling_level)
        return CSA_LEVELS[self.settings.anonymous_csa_ceiling]

    async def offers(
        self,
        ctx: UserContext,
        program_ids: list[str],
        *,
        now: datetime,
        max_offers: int | None = None,
        skip_series: Collection[str] = (),
    ) -> list[Offer]:
        """The eligible offers among ``program_ids`` for the user of ``ctx`` (the first
        ``max_offers`` of them), with the settings' rules (rails and /v1/explain both
        decide through this)."""
        check_availability = "availability" not in ctx.not_applicable
        if not ctx.bundles and check_availability:
            # No active subscription and no free bundle: no channel can carry anything to
            # this user, which eligible.cypher would find out candidate by candidate.
            return []
        return await eligible_offers(
            self.driver, database=self.db, user_id=ctx.user_id or "", program_ids=program_ids,
            now=now, window=timedelta(days=self.settings.window_days),
            completion=self.settings.completion_threshold,
            default_ceiling=CSA_LEVELS[self.settings.anonymous_csa_ceiling],
            check_availability=check_availability,
            fatigue=self.fatigue, max_offers=max_offers, skip_series=skip_series,
        )  # fmt: skip

    async def _audience(self, ctx: UserContext, now: datetime) -> dict[str, dict[str, Any]]:
        bundles: list[str | None] = list(ctx.bundles) or [None]
        return (await self._merged(bundles, now)).by_program

    def _empty_reason(
        self, ctx: UserContext, *, bundles: Sequence[str] | None = None, best: bool = False
    ) -> str:
        """Why a rail that searched ``bundles`` (default: all the user's) is empty; ``best``:
        it searched only their programs with ``BEST_OF_MIN_WATCHERS`` watchers or more."""
        if not ctx.bundles:
            return "no bundle is available to this user (no subscription and no free bundle)"
        ceiling = ctx.csa_ceiling or self.settings.anonymous_csa_ceiling
        searched = list(ctx.bundles if bundles is None else bundles)
        what = f"bundle {searched[0]}" if len(searched) == 1 else f"bundles {', '.join(searched)}"
        among = (
            f"among the programs of {what} with {BEST_OF_MIN_WATCHERS} watchers or more"
            if best
            else f"in {what}"
        )
        # Fatigue leaves programs out too (unless it is off): the sentence says so.
        left_out = (
            "already watched, blacklisted or recently abandoned (the program, its series or "
            "its channel)"
            if self.fatigue.programs
            else "already watched or blacklisted"
        )
        return (
            f"nothing {among} is available in the next "
            f"{self.settings.window_days:g} days within CSA ceiling {ceiling} that this user "
            f"has not {left_out}"
        )


def blend(
    candidates: Candidates,
    audience: dict[str, dict[str, Any]],
    *,
    now: datetime,
    popularity: float,
    freshness: float,
) -> Candidates:
    """Re-rank model candidates by a weighted mix of model score, audience and newness.

    Each part is scaled to [0, 1] over the candidates: the model score min-max, the
    audience as log(1 + watchers this week) over the largest, newness as 1 for a
    program first available at most a day ago (or upcoming), falling linearly to 0
    at seven days. Weights ``popularity`` and ``freshness`` (their sum at most 1)
    take their share from the model score's. The returned scores are the blends.
    """
    if popularity + freshness > 1:
        raise ValueError(
            f"popularity_blend + freshness_blend must be at most 1, got {popularity + freshness}"
        )
    if not candidates:
        return candidates
    scores = [s or 0.0 for _, s in candidates]
    lo, hi = min(scores), max(scores)
    span = hi - lo or 1.0
    week = [math.log1p(audience.get(p, {}).get("watchers_week") or 0) for p, _ in candidates]
    top = max(week) or 1.0
    out: Candidates = []
    for (program, _), score, w in zip(candidates, scores, week, strict=True):
        first = audience.get(program, {}).get("first_available")
        age_days = (now.timestamp() - first) / 86400 if first is not None else math.inf
        new = 1.0 if age_days <= 1 else max(0.0, (7 - age_days) / 6)
        mixed = ((1 - popularity - freshness) * (score - lo) / span + popularity * w / top
                 + freshness * new)  # fmt: skip
        out.append((program, mixed))
    out.sort(key=lambda c: -(c[1] or 0.0))
    return out


def utc_now(settings: Settings, override: datetime | None = None) -> datetime:
    """The time rails are computed for: the request's ``now``, else the clock (UTC)."""
    if override is not None:
        return override if override.tzinfo else override.replace(tzinfo=UTC)
    return datetime.now(UTC)
