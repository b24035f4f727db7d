"""The rails preview page (``/demo``) and what Neo4j Browser fetches from the API.

``/demo`` is a static page (HTML, CSS and plain JavaScript in ``api/static/demo``)
that calls the rails and explain routes; the two JSON routes here add what the
page needs besides them: users to pick from, and an explanation laid out as a
graph. ``/browser/*`` serves the Browser style and guide, readable from the
Browser's origin (another port) through CORS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse, HTMLResponse
from neo4j import RoutingControl
from pydantic import BaseModel, Field

from api.auth import ReadKey
from api.browser_guide import guide_html, style_path
from api.deps import Now, Rails
from api.explain_graph import ExplainGraph, lay_out
from api.routes.explain import explain
from api.schemas import ExplainOut, errors
from graph.domain import MAX_ID_LENGTH
from graph.queries import query

router = APIRouter(tags=["demo"], dependencies=[ReadKey], responses=errors(401, 403, 404, 503))

STATIC = Path(__file__).resolve().parent.parent / "static" / "demo"
ASSETS = {"demo.css", "demo.js"}
"""Files of ``STATIC`` served under ``/demo/`` (the page is ``index.html``)."""
PER_PROFILE = 4
"""Users of each profile offered by ``/demo/users``."""


class DemoUser(BaseModel):
    user_id: str
    profile: str | None
    csa_ceiling: str | None
    watched: int = Field(description="Programs the user has watched.")
    bundles: list[str] = Field(description="Bundles subscribed to at `now` (free ones aside).")


class DemoUsers(BaseModel):
    users: list[DemoUser]


class ExplainGraphOut(BaseModel):
    explain: ExplainOut
    graph: ExplainGraph
    browser_cypher: str = Field(
        description="The explain Cypher with its parameters written in: it runs as is."
    )
    browser_link: str = Field(description="Opens Neo4j Browser with `browser_cypher` to run.")


@router.get("/demo", response_class=HTMLResponse, include_in_schema=False)
async def page() -> FileResponse:
    """The rails preview page."""
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/demo/users", response_model=DemoUsers)
async def users(rails: Rails, now: Now) -> DemoUsers:
    """Users to preview: the most active of each profile, with their bundles."""
    records, _, _ = await rails.driver.execute_query(
        query("demo/users"), per_profile=PER_PROFILE, now=now,
        database_=rails.db, routing_=RoutingControl.READ,
    )  # fmt: skip
    return DemoUsers(users=[DemoUser(**r.data()) for r in records])


@router.get("/demo/explain-graph", response_model=ExplainGraphOut)
async def explain_graph(
    request: Request,
    rails: Rails,
    now: Now,
    user_id: Annotated[str, Query(min_length=1, max_length=MAX_ID_LENGTH)],
    program_id: Annotated[str, Query(min_length=1, max_length=MAX_ID_LENGTH)],
) -> ExplainGraphOut:
    """``/v1/explain`` with its paths laid out for drawing, and a Neo4j Browser link."""
    found = await explain(rails, now, user_id, program_id)
    return ExplainGraphOut(
        explain=found,
        graph=lay_out(found.paths),
        browser_cypher=found.cypher,
        browser_link=browser_link(request.app.state.settings.browser_url, found.cypher),
    )


@router.get("/demo/{asset}", include_in_schema=False)
async def asset(asset: str) -> FileResponse:
    """The page's stylesheet and script."""
    if asset not in ASSETS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no demo file '{asset}'")
    return FileResponse(STATIC / asset)


def browser_link(browser_url: str, statement: str) -> str:
    """A Neo4j Browser URL that opens with ``statement`` in its editor (not yet run).

    One statement, without a ``:params`` line: Browser 5.24 would read the whole text as
    the ``:params`` argument unless a ``;`` ended that line, and would then show a list of
    two statements instead of the graph.
    """
    return f"{browser_url}?cmd=edit&arg={quote(statement, safe='')}"


# ------------------------------------------------------------------ Neo4j Browser
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET",
    # The Browser sends pragma and cache-control with guide requests: a preflight.
    "Access-Control-Allow-Headers": "*",
}


@router.get("/browser/graphrails.grass", response_class=Response)
async def browser_style() -> Response:
    """The Neo4j Browser style (GraSS): colours and captions per label."""
    return Response(style_path().read_text(encoding="utf-8"), media_type="text/plain",
                    headers=CORS)  # fmt: skip


@router.get("/browser/guide.html", response_class=HTMLResponse)
async def browser_guide(request: Request, rails: Rails, now: Now) -> HTMLResponse:
    """A Neo4j Browser guide (``:guide <this url>``): every saved exploration query."""
    records, _, _ = await rails.driver.execute_query(
        query("explore/most_active_users"), limit=1, database_=rails.db,
        routing_=RoutingControl.READ,
    )  # fmt: skip
    # since: null reads the whole served log (the audits' parameter).
    examples: dict[str, object] = {"limit": 10, "since": None, "now": now.isoformat()}
    if records:
        user_id = records[0]["user_id"]
        examples["user_id"] = user_id
        home = await rails.home(user_id, now=now, limit=1)
        if home.items:
            examples["program_id"] = home.items[0].offer.program_id
    api_url = str(request.base_url).rstrip("/")
    return HTMLResponse(guide_html(api_url=api_url, examples=examples), headers=CORS)


@router.options("/browser/{name}", include_in_schema=False)
async def browser_preflight(name: str) -> Response:
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=CORS)
