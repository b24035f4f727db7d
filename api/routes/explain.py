"""Explain: the graph paths behind a (user, program) pair, and the Cypher to replay them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from neo4j import RoutingControl

from api.auth import ReadKey
from api.browser_guide import with_literals
from api.deps import Country, Now, Rails
from api.rails.eligibility import rule_parameters
from api.rails.types import UserContext
from api.schemas import (
    Exclusion,
    ExplainOut,
    GraphNode,
    GraphPath,
    GraphRelationship,
    errors,
)
from graph.domain import MAX_ID_LENGTH
from graph.queries import query

router = APIRouter(
    prefix="/v1", tags=["explain"], dependencies=[ReadKey], responses=errors(401, 403, 404, 503)
)


@router.get("/explain", response_model=ExplainOut)
async def explain(
    rails: Rails,
    now: Now,
    user_id: Annotated[str, Query(min_length=1, max_length=MAX_ID_LENGTH)],
    program_id: Annotated[str, Query(min_length=1, max_length=MAX_ID_LENGTH)],
    country: Country = None,
) -> ExplainOut:
    """Supporting paths (access, genre, co-watch, series) and the Cypher that draws them;
    a user the graph does not know is explained as the rails serve them (free bundles,
    anonymous CSA ceiling)."""
    # now as ISO 8601 text: the query reads datetime($now), and the Cypher shown reads
    # datetime('...') where it would otherwise read datetime(datetime('...')).
    params = {"user_id": user_id, "program_id": program_id, "now": now.isoformat()}
    records, _, _ = await rails.driver.execute_query(
        query("explore/why_recommended"), params, database_=rails.db, routing_=RoutingControl.READ
    )
    if not records:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"program '{program_id}' does not exist")
    ctx = await rails.context(user_id, now, country)
    paths = [
        _path(kind, p)
        for kind in ("subscription", "free_bundle", "genre", "co_watch", "series")
        for p in records[0][kind]
    ]
    offers = await rails.offers(ctx, [program_id], now=now, rail="home")
    return ExplainOut(
        user_id=user_id,
        program_id=program_id,
        known_user=ctx.known,
        bundles=ctx.bundles,
        csa_ceiling=ctx.csa_ceiling or rails.settings.anonymous_csa_ceiling,
        eligible=any(o.program_id == program_id for o in offers),
        country=ctx.country,
        excluded_by=await exclusions(rails, ctx, program_id, now),
        paths=paths,
        cypher=with_literals(query("explore/why_recommended"), params),
    )


async def exclusions(
    rails: Rails, ctx: UserContext, program_id: str, now: datetime
) -> list[Exclusion]:
    """The service's rules (banned genres, country rights, impression fatigue) that keep
    ``program_id`` out of the rails of ``ctx``'s user at ``now``, each in a sentence."""
    s = rails.settings
    params = rule_parameters(s, rails.fatigue, now, rail="home", country=ctx.country, max_offers=1)
    records, _, _ = await rails.driver.execute_query(
        query("rails/exclusions"), params, user_id=ctx.user_id, program_id=program_id,
        bundles=ctx.bundles, database_=rails.db, routing_=RoutingControl.READ,
    )  # fmt: skip
    r = records[0]
    out = []
    if r["banned_genres"]:
        names = sorted(r["banned_genres"])
        kind = f"genre {names[0]} is" if len(names) == 1 else f"genres {', '.join(names)} are"
        out.append(Exclusion(rule="banned_genre", text=f"Its {kind} banned from the rails."))
    rights = [a["countries"] for a in r["rights"]]
    if rights and all(c is not None and r["country"] not in c for c in rights):
        licensed = ", ".join(sorted({c for countries in rights for c in countries}))
        whose = f"not in {r['country']}" if r["country"] else "and the user's country is unknown"
        out.append(Exclusion(rule="country", text=(
            f"Its airings on the user's channels are licensed only in {licensed}, {whose}."
        )))  # fmt: skip
    if r["overexposed"]:
        days = s.impression_days
        out.append(Exclusion(rule="impressions", text=(
            f"Shown to the user in {s.impression_rails} rails or more within {days} days and "
            f"not watched since: it returns once it has not been shown for {days} days."
        )))  # fmt: skip
    return out


def _path(kind: str, path: Any) -> GraphPath:
    return GraphPath(
        kind=kind,
        nodes=[
            GraphNode(
                element_id=n.element_id,
                labels=sorted(n.labels),
                id=n.get("id"),
                name=n.get("title") or n.get("name"),
            )
            for n in path.nodes
        ],
        relationships=[
            GraphRelationship(type=r.type, start=r.start_node.element_id, end=r.end_node.element_id)
            for r in path.relationships
        ],
    )
