"""Who the rails are for: the user's context, read from the graph in one round trip."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from neo4j import AsyncDriver, RoutingControl

from api.model import RecentWatch
from api.rails.types import UserContext
from graph.domain import CSA_LEVELS
from graph.queries import query
from graph.settings import Settings

ANCHORS = 5
"""Recent well-completed watches used as "because you watched" anchors."""


def context_parameters(settings: Settings) -> dict[str, Any]:
    """The parameters of ``cypher/rails/context.part.cypher`` but ``$now`` (which every
    statement including it takes for its own rules too)."""
    return {"anchors": ANCHORS, "recent": settings.fold_in_watches,
            "anchor_completion": settings.completion_threshold}  # fmt: skip


async def load_user_context(
    driver: AsyncDriver,
    settings: Settings,
    user_id: str | None,
    now: datetime,
    country: str | None = None,
) -> UserContext:
    """The context of ``user_id`` at ``now`` (``cypher/rails/user_context.cypher``); an
    unknown or anonymous user gets an empty one with ``known`` false. ``country``: the
    request's, for a user the graph gives none."""
    records, _, _ = await driver.execute_query(
        query("rails/user_context"), context_parameters(settings), user_id=user_id, now=now,
        database_=settings.neo4j_database, routing_=RoutingControl.READ,
    )  # fmt: skip
    return context_from_record(user_id, records[0], country or settings.default_country)


def context_from_record(user_id: str | None, r: Any, country: str | None) -> UserContext:
    """The context in a record of ``user_context.cypher`` (or ``home.cypher``, which
    returns the same fields); ``country``: the one to assume when the user has none."""
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
        genre_share={g["genre_id"]: (g["genre"], g["seconds"] / total) for g in r["genre_time"]},
        not_applicable=list(r["not_applicable"] or []),
        country=r["country"] or country,
    )


def ceiling_level(ctx: UserContext, settings: Settings) -> int:
    """The CSA level eligibility allows ``ctx``'s user (the anonymous ceiling when the
    graph has none)."""
    if ctx.csa_ceiling_level is not None:
        return int(ctx.csa_ceiling_level)
    return CSA_LEVELS[settings.anonymous_csa_ceiling]
