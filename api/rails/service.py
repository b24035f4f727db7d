"""The rails service: one method per rail, built once in the lifespan.

It holds what requests share (the driver, the serving model, the popularity cache, the
admission turns) and hands each rail to the pipeline: its context, its sources
(:mod:`api.rails.sources`), its assembly (:mod:`api.rails.assembly`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from neo4j import AsyncDriver

from api.model import ServingModel
from api.rails.admission import Admission
from api.rails.assembly import OFFERS_PER_ITEM, assemble, bundle_empty_reason, no_anchor_reason
from api.rails.context import load_user_context
from api.rails.eligibility import Fatigue, eligible_offers
from api.rails.popularity import Audience, PopularityCache
from api.rails.precomputed import (
    AboutRead,
    Prefetched,
    Refresher,
    read_about,
    read_bundle,
    read_home,
)
from api.rails.ranking import Ranked, RankingStage
from api.rails.reasons import Explainer, UnknownProgramError
from api.rails.sources import chain
from api.rails.types import Candidates, EligibilityCount, Offer, Rail, UserContext
from api.rails.warm_up import eligibility_statement, plan_rail_statements, rail_statements
from api.unavailable import UNAVAILABLE
from gnn.ranker import UserFacts
from graph.settings import Settings

T = TypeVar("T")
log = logging.getLogger("graphrails.api.rails")

READ_PER_OFFER = 3
"""A bundle rail's one round trip tests this many candidates an offer asked for, at most
(the first 40 offers of a rail of 20 took 59 candidates, 80 at most, for 40 users of the
100k bench graph; best of bundle's 58, 92 at most)."""

MIN_HISTORY = 3
"""Users with fewer watches get the non-personalised rail of their bundle (for a user the
model does not know: fewer watches of programs it knows, see :mod:`api.model`)."""


class RailsService:
    """Everything a request needs, built once in the lifespan."""

    def __init__(self, driver: AsyncDriver, settings: Settings, model: ServingModel | None):
        self.driver = driver
        self.settings = settings
        self.model = model
        self.db = settings.neo4j_database
        self.explainer = Explainer(driver, settings)
        self.cache = PopularityCache(driver, settings)
        self.refresher = Refresher(driver, settings)
        self.ranking = RankingStage(driver, settings)
        self.home_reads: Counter[str] = Counter()
        """Home rails by where their personalised candidates came from: ``stored`` (one
        round trip), ``scored`` (by the API: no current stored list), ``none`` (no
        personalised source: no model, too little history, an unknown user)."""
        self.admission = Admission(settings.max_concurrent_rails, warm_up=self.plan_statements)
        self.fatigue = Fatigue(
            completion=settings.fatigue_completion, programs=settings.fatigue_programs,
            series=settings.fatigue_series, channels=settings.fatigue_channels,
        )  # fmt: skip
        self.personalised_home = True
        """False: the home rail is the non-personalised chain for everyone (an experiment's
        ``popular_in_bundle`` arm, see :mod:`api.experiments`)."""

    async def plan_statements(self) -> None:
        """Have Neo4j plan the rail statements (after an outage, :mod:`api.rails.warm_up`)."""
        statements = rail_statements(self.settings, self.fatigue, self.model,
                                     min_history=MIN_HISTORY)  # fmt: skip
        await plan_rail_statements(self.driver, self.settings, statements)

    async def admitted(self, compute: Callable[[], Awaitable[T]]) -> T:
        """``compute()`` under a turn, its caller answered 503 if it is not ready within
        the second while Neo4j is cold (:meth:`api.rails.admission.Admission.run`)."""
        return await self.admission.run(compute)

    @property
    def waiting(self) -> int:
        """Rail requests waiting for a turn (for the metrics)."""
        return self.admission.waiting

    @property
    def in_flight(self) -> int:
        """Rail requests being computed (for the metrics)."""
        return self.admission.in_flight

    def swap_model(self, model: ServingModel | None) -> None:
        """Serve from ``model`` from the next request on. A request reads ``self.model``
        once, when it starts, and computes everything from that version (candidates,
        explanations and the version it reports), so requests under way finish on the
        one they started with."""
        self.model = model

    # ------------------------------------------------------------ rails
    async def home(
        self, user_id: str, *, now: datetime, limit: int, country: str | None = None
    ) -> Rail:
        """The home rail: in the common case one round trip, which reads the user's context,
        their stored candidates and those candidates' live eligibility together
        (:mod:`api.rails.precomputed`).

        After a Neo4j outage, until the warm-up has run (:attr:`Admission.planned`), it reads
        the context alone and scores the user here instead, as for a user with no current
        list: on a Neo4j just started, planning the one round trip's statement and then the
        eligibility of the rest of the list took 9-11 s, the smaller statements of this way
        6-9 s (docs/benchmarks.md, "Neo4j stopped under load")."""
        model = self.model  # one version for the whole request, even if swapped meanwhile
        s = self.settings
        # A blend re-ranks the candidates by this week's audience at request time: stored
        # lists hold the model's order only, so they are not used then.
        stored = model is not None and s.popularity_blend == 0 and s.freshness_blend == 0
        if not self.admission.planned:
            ctx = await self._context_beside_eligibility(user_id, now, country)
            return await self._home_scored(
                ctx, now=now, limit=limit, model=model, stored=stored, refresh=False
            )
        candidates = min(s.candidates, len(model.program_ids)) if model else s.candidates
        # With a ranker, assembly asks for every offer of the list (it orders them all):
        # the same question as this round trip then, which answers it.
        ranked = model is not None and model.ranker is not None
        read = await read_home(
            self.driver, s, self.fatigue, user_id, now,
            version=model.version if model is not None and stored else None,
            min_history=MIN_HISTORY, candidates=candidates,
            max_offers=candidates if ranked else OFFERS_PER_ITEM * limit, country=country,
            ranker=ranked,
        )  # fmt: skip
        ctx = read.ctx
        if read.candidates is not None:
            self.home_reads["stored"] += 1
            sources = chain(self, "home", ctx, now, model=model, listed=read.candidates)
            return await assemble(Prefetched(self, read), "home", "For you", ctx, sources,
                                  now=now, limit=limit, model=model)  # fmt: skip
        return await self._home_scored(
            ctx, now=now, limit=limit, model=model, stored=stored, refresh=stored
        )

    async def _context_beside_eligibility(
        self, user_id: str, now: datetime, country: str | None
    ) -> UserContext:
        """The user's context; until a rail has succeeded since Neo4j failed
        (:attr:`Admission.cold`), with Neo4j planning the eligibility statement beside it, so
        that the rail finds it planned. On a Neo4j just started both plans are seconds of
        a cold JVM, made one after the other otherwise (5.5-6.7 s for the two on two idle
        cores, 4.8-6.1 s side by side: docs/benchmarks.md, "Neo4j stopped under load")."""
        if not self.admission.cold:
            return await self.context(user_id, now, country)
        eligibility = [eligibility_statement(self.settings, self.fatigue)]
        ctx, planned = await asyncio.gather(
            self.context(user_id, now, country),
            plan_rail_statements(self.driver, self.settings, eligibility),
            return_exceptions=True,
        )
        if isinstance(ctx, BaseException):
            raise ctx
        if isinstance(planned, Exception) and not isinstance(planned, UNAVAILABLE):
            # An optimisation: it never takes the rail down (its own call plans if need be).
            log.warning("could not plan the eligibility beside a rail's context: %r", planned)
        return ctx

    async def _home_scored(
        self, ctx: UserContext, *, now: datetime, limit: int, model: ServingModel | None,
        stored: bool, refresh: bool,
    ) -> Rail:  # fmt: skip
        """The home rail of a user whose candidates the API scores itself: ``stored``, as a
        stored list would hold them; ``refresh``, and stored for the next request (the
        stored list being out of date)."""
        s = self.settings
        vector = (
            model.user_vector(ctx.user_id or "", ctx.recent, min_watches=MIN_HISTORY)
            if self.personalised_home and model is not None and ctx.watched >= MIN_HISTORY
            else None
        )
        listed: Candidates | None = None
        if model is not None and vector is not None and stored:
            listed = list(model.for_vector(vector.vector, s.candidates, shares=vector.shares))
            if refresh:
                self.refresher.record(ctx, vector, listed, version=model.version)
        self.home_reads["scored" if vector is not None else "none"] += 1
        sources = chain(self, "home", ctx, now, model=model, vector=vector, listed=listed)
        title = "For you" if model is not None and vector is not None else "Popular in your bundle"
        return await assemble(self, "home", title, ctx, sources, now=now, limit=limit, model=model)

    async def because_you_watched(
        self, user_id: str, *, program_id: str | None, now: datetime, limit: int, rails: int = 3,
        country: str | None = None,
    ) -> tuple[list[Rail], str | None]:  # fmt: skip
        """The rails, and why there are none when there are none. In the common case one
        round trip reads the user's context and, for each anchor, its stored candidates,
        their first offers and those offers' co-watch counts (:meth:`about`)."""
        name = "because_you_watched"
        model, read = await self.about(name, user_id, program_id=program_id, now=now,
                                       limit=limit, rails=rails, country=country)  # fmt: skip
        ctx = read.ctx
        out = []
        for a in read.anchors:
            # The user's anchors are their well-completed watches. A program the caller
            # names may never have been watched: its rail then says "similar to", not
            # "you watched".
            watched = a.watched if program_id else True
            sources = chain(self, name, ctx, now, model=model, program_id=a.anchor["id"],
                            listed=a.candidates)  # fmt: skip
            title = f"{'Because you watched' if watched else 'Similar to'} {a.anchor['title']}"
            rail = await assemble(
                Prefetched(self, a), name, title, ctx, sources, now=now, limit=limit,
                anchor=a.anchor, watched_anchor=watched, model=model,
            )  # fmt: skip
            out.append(rail)
        return out, None if out else no_anchor_reason(ctx, self.settings)

    async def similar(
        self, program_id: str, *, user_id: str | None, now: datetime, limit: int,
        country: str | None = None,
    ) -> Rail:  # fmt: skip
        """Programs similar to ``program_id`` for the user (None: anonymous), in one round
        trip in the common case (:meth:`about`)."""
        model, read = await self.about("similar", user_id, program_id=program_id, now=now,
                                       limit=limit, rails=1, country=country)  # fmt: skip
        (a,) = read.anchors
        sources = chain(self, "similar", read.ctx, now, model=model, program_id=program_id,
                        listed=a.candidates)  # fmt: skip
        return await assemble(
            Prefetched(self, a), "similar", f"Similar to {a.anchor['title']}", read.ctx,
            sources, now=now, limit=limit, anchor=a.anchor, model=model,
        )  # fmt: skip

    async def about(
        self, rail: str, user_id: str | None, *, program_id: str | None, now: datetime,
        limit: int, rails: int, country: str | None,
    ) -> tuple[ServingModel | None, AboutRead]:  # fmt: skip
        """The serving model (one version for the whole request, even if swapped
        meanwhile) and the read of ``cypher/rails/similar.cypher`` for ``rail``: the
        anchor ``program_id`` (None: the user's first ``rails`` anchors), each with its
        stored similar programs while they are current, their first offers and their
        co-watch counts. :class:`UnknownProgramError` for a ``program_id`` the graph
        does not hold."""
        model = self.model
        s = self.settings
        candidates = min(s.candidates, len(model.program_ids) - 1) if model else s.candidates
        read = await read_about(
            self.driver, s, self.fatigue, user_id, now, rail=rail, program_id=program_id,
            rails=rails, version=model.version if model is not None else None,
            candidates=candidates, max_offers=OFFERS_PER_ITEM * limit, country=country,
        )  # fmt: skip
        if program_id is not None and not read.anchors:
            raise UnknownProgramError(f"program '{program_id}' does not exist")
        return model, read

    async def popular(
        self, *, user_id: str | None, bundle_id: str | None, now: datetime, limit: int, best: bool,
        country: str | None = None,
    ) -> Rail:  # fmt: skip
        """The most watched (``best``: the most completed) programs of ``bundle_id`` (None:
        of all the user's bundles) this week. In the common case one round trip reads the
        user's context and the live eligibility of the first programs of the bundles'
        cached rankings (:func:`api.rails.precomputed.read_bundle`)."""
        model = self.model
        s = self.settings
        name = "best_of_bundle" if best else "popular_in_bundle"
        max_offers = OFFERS_PER_ITEM * limit
        # Enough candidates for the first offers in the common case, and no more: each
        # one sent costs the request, and each one read is looked up before the first is
        # tested (one per series). A rail they do not fill asks for the rest, as before.
        first = min(s.candidates, READ_PER_OFFER * max_offers)
        read = await read_bundle(
            self.driver, s, self.fatigue, user_id, now, rail=name, bundle_id=bundle_id,
            rankings=await self.cache.rankings(now, best=best, first=first), candidates=first,
            max_offers=max_offers, country=country,
        )  # fmt: skip
        ctx = read.ctx
        sources = chain(self, name, ctx, now, model=model, bundle_id=bundle_id)
        title = "Best of your bundle" if best else "Popular in your bundle this week"
        rail = await assemble(Prefetched(self, read), name, title, ctx, sources, now=now,
                              limit=limit, model=model)  # fmt: skip
        if not rail.items and bundle_id:
            rail.empty_reason = await bundle_empty_reason(self, ctx, bundle_id, now=now, best=best)
        return rail

    async def top_replay(
        self, user_id: str, *, now: datetime, limit: int, country: str | None = None
    ) -> Rail:
        """The most watched programs of the user's bundles this week, of those they can
        watch in replay now."""
        model = self.model
        ctx = await self.context(user_id, now, country)
        sources = chain(self, "top_replay", ctx, now, model=model)
        return await assemble(self, "top_replay", "Top replays in your bundle", ctx, sources,
                              now=now, limit=limit, model=model, replays=True)  # fmt: skip

    # ------------------------------------------------------------ what the rails draw on
    async def context(
        self, user_id: str | None, now: datetime, country: str | None = None
    ) -> UserContext:
        """The user's context; ``country``: the request's, for a user the graph gives none."""
        return await load_user_context(self.driver, self.settings, user_id, now, country)

    async def bundles(self) -> set[str]:
        """Ids of every bundle (cached like popularity)."""
        return await self.cache.bundles()

    async def popularity(self, bundle_id: str | None, now: datetime) -> list[dict[str, Any]]:
        """Audience of the programs of a bundle (None: the whole catalogue), cached."""
        return await self.cache.popularity(bundle_id, now)

    async def merged(self, bundles: Sequence[str | None], now: datetime) -> Audience:
        """The popularity lists of ``bundles`` merged by program (cached while they are)."""
        lists = tuple([await self.popularity(bundle, now) for bundle in bundles])
        return self.cache.merged(bundles, lists)

    async def audience(self, ctx: UserContext, now: datetime) -> dict[str, dict[str, Any]]:
        """The audience of every program of ``ctx``'s bundles (the catalogue's if none)."""
        bundles: list[str | None] = list(ctx.bundles) or [None]
        return (await self.merged(bundles, now)).by_program

    async def rank(
        self,
        ctx: UserContext,
        offers: Sequence[Offer],
        scores: Mapping[str, float | None],
        *,
        now: datetime,
        model: ServingModel,
        user: UserFacts | None = None,
    ) -> Ranked:
        """P(complete) of ``offers`` with ``model``'s ranker (:mod:`api.rails.ranking`);
        ``user``: the user's side of its features when the rail's read brought it."""
        return await self.ranking.rank(ctx, offers, scores, now=now, model=model, user=user)

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
    ) -> list[Offer]:
        """The eligible offers among ``program_ids`` for the user of ``ctx`` (the first
        ``max_offers`` of them) in ``rail``, with the settings' rules (rails and
        /v1/explain both decide through this); the round trip is added to ``count`` when
        given."""
        check_availability = "availability" not in ctx.not_applicable
        if not ctx.bundles and check_availability:
            # No active subscription and no free bundle: no channel can carry anything to
            # this user, which eligible.cypher would find out candidate by candidate.
            return []
        return await eligible_offers(
            self.driver, self.settings, user_id=ctx.user_id or "", program_ids=program_ids,
            now=now, rail=rail, country=ctx.country, check_availability=check_availability,
            fatigue=self.fatigue, max_offers=max_offers, kinds=kinds, skip_series=skip_series,
            count=count,
        )  # fmt: skip


def utc_now(settings: Settings, override: datetime | None = None) -> datetime:
    """The time rails are computed for: the request's ``now``, else the clock (UTC)."""
    if override is not None:
        return override if override.tzinfo else override.replace(tzinfo=UTC)
    return datetime.now(UTC)
