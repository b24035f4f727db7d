"""Eligibility: which candidate programs a user may be offered, decided in Cypher.

The rules live in ``cypher/rails/eligible.cypher`` (one round trip for a whole
candidate list); this module only prepares the parameters and types the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from neo4j import AsyncDriver, RoutingControl

from graph.queries import query


@dataclass(frozen=True)
class Offer:
    """An eligible program for a user: what to show and where it is available."""

    rank: int
    candidate_id: str
    program_id: str
    title: str
    csa: str | None
    genres: tuple[str, ...]
    series_id: str | None
    series_title: str | None
    season: int | None
    episode: int | None
    channel_id: str | None
    channel_name: str | None
    bundle_id: str | None
    kind: str | None
    available_from: datetime | None
    available_until: datetime | None


async def eligible_offers(
    driver: AsyncDriver,
    *,
    database: str,
    user_id: str,
    program_ids: list[str],
    now: datetime,
    window: timedelta,
    completion: float,
    default_ceiling: int,
    check_availability: bool = True,
) -> list[Offer]:
    """The offers for ``program_ids`` (kept in their order) that ``user_id`` is eligible for.

    An episode may be replaced by the user's next episode of its series; a
    candidate with no eligible offer is left out. A user unknown to the graph
    is treated as anonymous: free bundles and ``default_ceiling``.
    """
    if not program_ids:
        return []
    records, _, _ = await driver.execute_query(
        query("rails/eligible"),
        user_id=user_id,
        program_ids=program_ids,
        now=now,
        horizon=now + window,
        completion=completion,
        default_ceiling=default_ceiling,
        check_availability=check_availability,
        database_=database,
        routing_=RoutingControl.READ,
    )
    return [_offer(r.data()) for r in records if r["program_id"] is not None]


def _offer(row: dict[str, Any]) -> Offer:
    for key in ("available_from", "available_until"):
        if row[key] is not None:
            row[key] = row[key].to_native()
    row["genres"] = tuple(row["genres"] or ())
    return Offer(**row)
