"""The candidate sources, and each rail's fallback chain declared in one table.

A rail asks its sources in the order of :data:`FALLBACK_CHAINS` until it is full; the
code that fills a rail is the same for every rail (:mod:`api.rails.assembly`). A source
that does not apply is skipped: ``personalised`` without a user vector; the bundle lists
(``popular_in_bundle``, ``best_of_bundle``) as fallbacks for a user who holds only free
bundles. ``top_replay`` is the user's bundles' list by this week's watchers, of which the
rail offers only the replays open now. ``popular_free`` is the free bundles' list (the
whole catalogue when the graph has no bundle at all, as with MovieLens). A rail about one
named bundle has no fallback.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from api.model import ServingModel, UserVector
from api.rails.popularity import Audience
from api.rails.types import Candidates, Source, UserContext
from graph.settings import Settings

_DEFAULTS = ("popular_in_bundle", "best_of_bundle", "popular_free")

FALLBACK_CHAINS: Mapping[str, tuple[str, ...]] = {
    "home": ("personalised", *_DEFAULTS),
    "because_you_watched": ("similar", *_DEFAULTS),
    "similar": ("similar", *_DEFAULTS),
    "popular_in_bundle": ("popular_in_bundle", "best_of_bundle", "popular_free"),
    "best_of_bundle": ("best_of_bundle", "popular_in_bundle", "popular_free"),
    # Replays only (assembly's ``replays``): a fallback of other kinds would not be one.
    "top_replay": ("top_replay",),
}
"""Rail name -> its sources, first choice first."""


class Pool(Protocol):
    """What the sources draw from (the rails service)."""

    settings: Settings

    async def merged(self, bundles: Sequence[str | None], now: datetime) -> Audience: ...

    async def audience(self, ctx: UserContext, now: datetime) -> dict[str, dict[str, Any]]: ...


def chain(
    pool: Pool,
    rail: str,
    ctx: UserContext,
    now: datetime,
    *,
    model: ServingModel | None,
    vector: UserVector | None = None,
    program_id: str | None = None,
    bundle_id: str | None = None,
    listed: Candidates | None = None,
) -> list[Source]:
    """The sources of ``rail`` for ``ctx``'s user, in the order of :data:`FALLBACK_CHAINS`,
    leaving out those that do not apply. ``listed``: the candidates of the rail's first
    source already scored (stored, :mod:`api.rails.precomputed`): the user's personalised
    ones, else ``vector``: the user's, to score them with; or the anchor's similar ones,
    else ``program_id``: the anchor, whose similar programs ``model`` ranks;
    ``bundle_id``: the one bundle a popular rail is about (no fallback then)."""
    names = FALLBACK_CHAINS[rail]
    if bundle_id is not None:
        names = names[:1]
    paid = bool(ctx.bundles) and ctx.bundles != ctx.free_bundles
    out: list[Source] = []
    for index, name in enumerate(names):
        run: Callable[[], Awaitable[Candidates]] | None = None
        if name == "personalised":
            if listed is not None:
                run = _listed(listed)
            elif model is not None and vector is not None:
                run = _personal(pool, model, vector, ctx, now)
        elif name == "similar":
            run = _listed(listed) if listed is not None else _similar(pool, str(program_id), model)
        elif name in ("popular_in_bundle", "best_of_bundle"):
            best = name == "best_of_bundle"
            if index == 0:  # the rail's own list: the bundle asked for, else all the user's
                run = _popular(pool, [bundle_id] if bundle_id else ctx.bundles, now, best=best)
            elif paid:
                run = _popular(pool, ctx.bundles, now, best=best)
        elif name == "top_replay":  # this week's audience; eligibility keeps the replays
            run = _popular(pool, ctx.bundles, now, best=False)
        elif name == "popular_free":
            free: list[str | None] = list(ctx.free_bundles) or ([] if ctx.bundles else [None])
            run = _popular(pool, free, now, best=False)
        else:
            raise ValueError(f"FALLBACK_CHAINS[{rail!r}] names an unknown source {name!r}")
        if run is not None:
            out.append((name, run))
    return out


def _personal(
    pool: Pool, model: ServingModel, vector: UserVector, ctx: UserContext, now: datetime
) -> Callable[[], Awaitable[Candidates]]:
    async def run() -> Candidates:
        s = pool.settings
        found: Candidates = list(
            model.for_vector(vector.vector, s.candidates, shares=vector.shares)
        )
        if s.popularity_blend == 0 and s.freshness_blend == 0:
            return found
        audience = await pool.audience(ctx, now)
        return blend(found, audience, now=now, popularity=s.popularity_blend,
                     freshness=s.freshness_blend)  # fmt: skip

    return run


def _listed(found: Candidates) -> Callable[[], Awaitable[Candidates]]:
    async def run() -> Candidates:
        return found

    return run


def _similar(
    pool: Pool, program_id: str, model: ServingModel | None
) -> Callable[[], Awaitable[Candidates]]:
    async def run() -> Candidates:
        if model is None:
            return []
        return list(model.similar(program_id, pool.settings.candidates))

    return run


def _popular(
    pool: Pool, bundles: Sequence[str | None], now: datetime, *, best: bool
) -> Callable[[], Awaitable[Candidates]]:
    async def run() -> Candidates:
        return (await pool.merged(bundles, now)).ranked(best=best)

    return run


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
