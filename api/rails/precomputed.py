"""Rails in one round trip: the user's context, the precomputed candidates and the live
eligibility of those candidates, read by one Cypher statement (the home rail; the rails
about a program, similar and because-you-watched, further down; and the rails of the
user's bundles, popular and best of bundle, at the end).

``cypher/rails/home.cypher`` returns what ``user_context.cypher`` returns, the user's
stored candidate list when it is current for the serving version (see that file), and
the first offers of the list, tested against the graph as it is now. The rail is then
assembled exactly as before (:mod:`api.rails.assembly`): its first eligibility call finds
those offers already there (:class:`Prefetched`); a rail that post-ranking leaves short
asks eligibility for the rest of the list, as it would have anyway.

A user without a current list (the version does not know them, or they watched
something since their list was scored) is scored by the API from the context that came
back, and the list is stored for their next request (:class:`Refresher`, in the
background, batched and bounded like the served log).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from neo4j import AsyncDriver, RoutingControl

from api.model import ServingModel, UserVector
from api.rails.assembly import Backend
from api.rails.context import context_from_record, context_parameters
from api.rails.eligibility import Fatigue, offers_from_rows, rule_parameters
from api.rails.popularity import Audience, Rankings
from api.rails.ranking import Ranked
from api.rails.reasons import CO_WATCH_SAMPLE, Explainer
from api.rails.types import Candidates, EligibilityCount, Offer, UserContext
from api.tasks import cancel
from gnn.ranker import UserFacts, user_from_record
from graph.queries import query
from graph.settings import Settings

log = logging.getLogger("graphrails.api.candidates")

REFRESH_QUEUE = 10_000
"""Users whose fresh lists may wait to be written; beyond, a list is dropped (the user is
scored by the API again next time, as now)."""
REFRESH_FLUSH_S = 1.0
"""Seconds between a list being queued and the write of everything queued then."""


@dataclass
class HomeRead:
    """What ``cypher/rails/home.cypher`` returned for one user."""

    ctx: UserContext
    candidates: Candidates | None
    """The stored list with its scores, best first; None when it is not current."""
    offers: list[Offer]
    """The first offers of ``candidates`` (empty when there are none)."""
    max_offers: int
    ranking_user: UserFacts | None = None
    """The user's side of the ranker's features (their watches, the impressions of the
    programs of ``offers``), read when the version has a ranker."""
    rail: str = "home"
    """The rail whose eligibility ``offers`` answer (the rules depend on it)."""

    @property
    def program_ids(self) -> list[str] | None:
        """The candidates ``offers`` were tested from, best first (None: none were)."""
        return None if self.candidates is None else [p for p, _ in self.candidates]


def home_parameters(
    settings: Settings,
    fatigue: Fatigue,
    user_id: str,
    now: datetime,
    *,
    version: str | None,
    min_history: int,
    candidates: int,
    max_offers: int,
    country: str | None,
    ranker: bool,
) -> dict[str, Any]:
    """Every parameter of cypher/rails/home.cypher for one call of :func:`read_home`
    (which says what each means)."""
    return {
        **rule_parameters(
            settings, fatigue, now, rail="home", country=country, max_offers=max_offers
        ),
        "user_id": user_id,
        **context_parameters(settings),
        "version": version,
        "min_history": min_history,
        "candidates": candidates,
        "ranker": ranker,
    }


async def read_home(
    driver: AsyncDriver,
    settings: Settings,
    fatigue: Fatigue,
    user_id: str,
    now: datetime,
    *,
    version: str | None,
    min_history: int,
    candidates: int,
    max_offers: int,
    country: str | None = None,
    ranker: bool = False,
) -> HomeRead:
    """The user's context, current candidate list (its first ``candidates``, which the
    version must hold; ``version`` None: none is) and their first ``max_offers`` offers.
    ``country``: the request's, for a user the graph gives none; ``ranker``: also read
    the user's side of the ranker's features."""
    params = home_parameters(
        settings, fatigue, user_id, now, version=version, min_history=min_history,
        candidates=candidates, max_offers=max_offers, country=country, ranker=ranker,
    )  # fmt: skip
    records, _, _ = await driver.execute_query(
        query("rails/home"), params,
        database_=settings.neo4j_database, routing_=RoutingControl.READ,
    )  # fmt: skip
    r = records[0]
    ids, scores = r["candidates"], r["candidate_scores"]
    listed: Candidates | None = None
    if version is not None and ids is not None:
        listed = list(zip(ids, scores or [None] * len(ids), strict=True))
    return HomeRead(
        ctx=context_from_record(user_id, r, country or settings.default_country),
        candidates=listed,
        offers=offers_from_rows(r["offers"]),
        max_offers=max_offers,
        ranking_user=user_from_record(r, user_id=user_id) if ranker else None,
    )


class Prefetched:
    """The rails service, for one rail whose first eligibility call was answered in the
    same round trip as its context (``read``: a :class:`HomeRead`, an :class:`AnchorRead`
    or a :class:`BundleRead`): that call (the read's candidates, or a longer list starting
    with them when the read found its ``max_offers`` offers; no series to skip) is served
    from ``read``, and so are the co-watch counts of its offers when the read brought
    them; every other call is the service's."""

    def __init__(self, backend: Backend, read: HomeRead | AnchorRead | BundleRead) -> None:
        self._backend = backend
        self._read = read
        self._used = False
        self.settings: Settings = backend.settings
        self.fatigue: Fatigue = backend.fatigue
        self.explainer: Explainer = (
            CountedExplainer(backend.explainer, read) if isinstance(read, AnchorRead)
            else backend.explainer
        )  # fmt: skip

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
        read = self._read
        tested = read.program_ids
        if (
            not self._used
            and rail == read.rail
            and kinds is None
            and max_offers == read.max_offers
            and not skip_series
            and tested is not None
            and program_ids[: len(tested)] == tested
            # Offers come in rank order: the first max_offers among the first candidates
            # are the first among all of them.
            and (len(tested) == len(program_ids) or len(read.offers) == max_offers)
        ):
            self._used = True
            if count is not None:
                count.add(asked=len(program_ids), offered=len(read.offers))
            return list(read.offers)
        return await self._backend.offers(
            ctx, program_ids, now=now, rail=rail, max_offers=max_offers, kinds=kinds,
            skip_series=skip_series, count=count,
        )  # fmt: skip

    async def merged(self, bundles: Sequence[str | None], now: datetime) -> Audience:
        return await self._backend.merged(bundles, now)

    async def audience(self, ctx: UserContext, now: datetime) -> dict[str, dict[str, Any]]:
        return await self._backend.audience(ctx, now)

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
        read = self._read
        if user is None and isinstance(read, HomeRead) and read.ranking_user is not None:
            # The read's impressions are those of its own offers: enough for these only.
            prefetched = {o.program_id for o in read.offers}
            if all(o.program_id in prefetched for o in offers):
                user = read.ranking_user
        return await self._backend.rank(ctx, offers, scores, now=now, model=model, user=user)


@dataclass
class AnchorRead:
    """One anchor of ``cypher/rails/similar.cypher``: the program a rail is about, its
    candidates and their first offers, and the co-watch counts of those offers."""

    anchor: dict[str, str]
    """``id`` and ``title``."""
    watched: bool
    """Whether the user has a watch of it (at any completion)."""
    candidates: Candidates | None
    """Its stored list of similar programs with their cosines; None when not current."""
    offers: list[Offer]
    """The first offers of ``candidates`` for the user (empty when there are none)."""
    max_offers: int
    """How many offers were asked for (fewer came back: every candidate was tested)."""
    rail: str
    """The rail whose eligibility ``offers`` answer (the rules depend on it)."""
    co_watchers: dict[str, int]
    """Offered program -> how many of the anchor's first ``viewers`` watchers watched it
    (programs none of them watched are absent)."""
    viewers: int
    """The anchor's watchers read for those counts (at most ``CO_WATCH_SAMPLE``)."""

    @property
    def program_ids(self) -> list[str] | None:
        """The candidates ``offers`` were tested from, best first (None: none were)."""
        return None if self.candidates is None else [p for p, _ in self.candidates]

    @property
    def counted(self) -> set[str]:
        """The programs whose co-watch counts the read holds (zero or not)."""
        return {o.program_id for o in self.offers}


@dataclass
class AboutRead:
    """What ``cypher/rails/similar.cypher`` returned for one request."""

    ctx: UserContext
    anchors: list[AnchorRead]


def about_parameters(
    settings: Settings,
    fatigue: Fatigue,
    user_id: str | None,
    now: datetime,
    *,
    rail: str,
    program_id: str | None,
    rails: int,
    version: str | None,
    candidates: int,
    max_offers: int,
    country: str | None,
) -> dict[str, Any]:
    """Every parameter of cypher/rails/similar.cypher for one call of :func:`read_about`
    (which says what each means)."""
    return {
        **rule_parameters(
            settings, fatigue, now, rail=rail, country=country, max_offers=max_offers
        ),
        "user_id": user_id,
        "program_id": program_id,
        "rails": rails,
        **context_parameters(settings),
        "version": version,
        "candidates": candidates,
        "sample": CO_WATCH_SAMPLE,
    }


async def read_about(
    driver: AsyncDriver,
    settings: Settings,
    fatigue: Fatigue,
    user_id: str | None,
    now: datetime,
    *,
    rail: str,
    program_id: str | None,
    rails: int,
    version: str | None,
    candidates: int,
    max_offers: int,
    country: str | None = None,
) -> AboutRead:
    """The user's context and, for the program ``program_id`` (None: each of the user's
    first ``rails`` anchors), its current list of similar programs (its first
    ``candidates``, which ``version`` must have written; None: none is current), their
    first ``max_offers`` offers in ``rail`` and those offers' co-watch counts. A
    ``program_id`` the graph does not hold gives no anchor."""
    params = about_parameters(
        settings, fatigue, user_id, now, rail=rail, program_id=program_id, rails=rails,
        version=version, candidates=candidates, max_offers=max_offers, country=country,
    )  # fmt: skip
    records, _, _ = await driver.execute_query(
        query("rails/similar"), params,
        database_=settings.neo4j_database, routing_=RoutingControl.READ,
    )  # fmt: skip
    r = records[0]
    about = []
    for a in r["about"]:
        ids, scores = a["candidates"], a["candidate_scores"]
        listed = None if ids is None else list(zip(ids, scores, strict=True))
        about.append(AnchorRead(
            anchor={"id": a["id"], "title": a["title"]}, watched=a["watched"],
            candidates=listed, offers=offers_from_rows(a["offers"]), max_offers=max_offers,
            rail=rail, co_watchers={p: int(n) for p, n in a["co_watchers"]},
            viewers=min(int(a["viewers"]), CO_WATCH_SAMPLE),
        ))  # fmt: skip
    ctx = context_from_record(user_id, r, country or settings.default_country)
    return AboutRead(ctx=ctx, anchors=about)


class CountedExplainer(Explainer):
    """The explainer, for one rail about an anchor whose offers' co-watch counts came with
    the read: those are not counted again; any other program's are (the service's)."""

    def __init__(self, explainer: Explainer, read: AnchorRead) -> None:
        self.driver = explainer.driver
        self.db = explainer.db
        self._read = read

    async def co_watchers(
        self, anchor_id: str, program_ids: list[str]
    ) -> tuple[dict[str, int], int]:
        read = self._read
        if anchor_id != read.anchor["id"] or not set(program_ids) <= read.counted:
            return await super().co_watchers(anchor_id, program_ids)
        known = read.co_watchers
        return {p: known[p] for p in program_ids if p in known}, read.viewers


@dataclass
class BundleRead:
    """What ``cypher/rails/popular.cypher`` returned for one request."""

    ctx: UserContext
    program_ids: list[str]
    """The candidates tested: the first of the rail's bundles' merged ranking."""
    offers: list[Offer]
    """Their first offers for the user (fewer than ``max_offers``: every one was tested)."""
    max_offers: int
    rail: str
    """``popular_in_bundle`` or ``best_of_bundle`` (the rules depend on the rail)."""


def bundle_parameters(
    settings: Settings,
    fatigue: Fatigue,
    user_id: str | None,
    now: datetime,
    *,
    rail: str,
    bundle_id: str | None,
    rankings: Rankings,
    candidates: int,
    max_offers: int,
    country: str | None,
) -> dict[str, Any]:
    """Every parameter of cypher/rails/popular.cypher for one call of :func:`read_bundle`
    (which says what each means)."""
    return {
        **rule_parameters(
            settings, fatigue, now, rail=rail, country=country, max_offers=max_offers
        ),
        "user_id": user_id,
        "bundle_id": bundle_id,
        "ranked": rankings.ranked,
        "rankings": rankings.positions,
        **context_parameters(settings),
        "candidates": candidates,
    }


async def read_bundle(
    driver: AsyncDriver,
    settings: Settings,
    fatigue: Fatigue,
    user_id: str | None,
    now: datetime,
    *,
    rail: str,
    bundle_id: str | None,
    rankings: Rankings,
    candidates: int,
    max_offers: int,
    country: str | None = None,
) -> BundleRead:
    """The user's context, the first ``candidates`` of ``rankings`` for ``bundle_id``
    (None: for all the user's bundles together) and their first ``max_offers`` offers in
    ``rail``. ``rankings`` must hold at least ``candidates`` programs of each bundle that
    has as many."""
    params = bundle_parameters(
        settings, fatigue, user_id, now, rail=rail, bundle_id=bundle_id, rankings=rankings,
        candidates=candidates, max_offers=max_offers, country=country,
    )  # fmt: skip
    records, _, _ = await driver.execute_query(
        query("rails/popular"), params,
        database_=settings.neo4j_database, routing_=RoutingControl.READ,
    )  # fmt: skip
    r = records[0]
    return BundleRead(
        ctx=context_from_record(user_id, r, country or settings.default_country),
        program_ids=list(r["candidates"]), offers=offers_from_rows(r["offers"]),
        max_offers=max_offers, rail=rail,
    )  # fmt: skip


class Refresher:
    """Stores the candidate lists the API scored itself (``cypher/candidates/refresh``),
    in the background: queued by user (the latest list wins), written every
    :data:`REFRESH_FLUSH_S` in one ``UNWIND``; a full queue drops the list. A failed
    write is logged, never raised: the user is scored by the API again next time."""

    def __init__(self, driver: AsyncDriver, settings: Settings) -> None:
        self.driver = driver
        self.db = settings.neo4j_database
        self._pending: dict[str, tuple[str, dict[str, Any]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.dropped = 0

    def record(
        self, ctx: UserContext, vector: UserVector, found: Candidates, *, version: str
    ) -> None:
        """Queue ``found`` (scored with ``vector`` by ``version``) as ``ctx``'s user's list."""
        if ctx.user_id is None or not ctx.known:
            return
        if len(self._pending) >= REFRESH_QUEUE and ctx.user_id not in self._pending:
            self.dropped += 1
            return
        latest = max((w.last_ts for w in ctx.recent if w.last_ts is not None), default=None)
        self._pending[ctx.user_id] = (version, {
            "id": ctx.user_id, "program_ids": [p for p, _ in found],
            "scores": [s for _, s in found], "at": latest, "watched": ctx.watched})  # fmt: skip
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(REFRESH_FLUSH_S)
        await self.flush()

    async def flush(self) -> int:
        """Write every queued list now (one transaction per model version); how many."""
        pending, self._pending = self._pending, {}
        by_version: dict[str, list[dict[str, Any]]] = {}
        for version, row in pending.values():
            by_version.setdefault(version, []).append(row)
        written = 0
        for version, rows in by_version.items():
            try:
                await self.driver.execute_query(
                    query("candidates/refresh"), rows=rows, version=version, database_=self.db
                )
                written += len(rows)
            except Exception:  # a lost refresh only costs the user's next request a scoring
                log.exception("could not store %d candidate lists", len(rows))
                self.dropped += len(rows)
        self.written += written
        return written

    async def stop(self) -> None:
        """Cancel the pending flush and write what is queued."""
        await cancel(self._task)
        self._task = None
        await self.flush()
