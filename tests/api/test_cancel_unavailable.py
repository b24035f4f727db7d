"""A GET under way when Neo4j goes away is cancelled and answered 503 as soon as another
request finds Neo4j unavailable (issue 18's slowest 503s): the middleware's own logic,
with routes standing in for rails; the chaos benchmark measures it on a real Neo4j."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from neo4j.exceptions import ServiceUnavailable, SessionExpired, TransientError

from api.unavailable import (
    CANCELLED,
    RETRY_AFTER_S,
    going_away,
    install_unavailable_handler,
)


def stuck_app() -> tuple[FastAPI, asyncio.Event]:
    """Routes standing in for rails: one waits (a connection to a Neo4j that is stopping
    answers nothing), one fails as a stopping Neo4j makes a new request fail."""
    app = FastAPI()
    install_unavailable_handler(app)
    release = asyncio.Event()

    @app.get("/waits")
    @app.post("/waits")
    async def waits() -> dict[str, bool]:
        await release.wait()
        return {"answered": True}

    @app.get("/fails")
    async def fails() -> None:
        raise ServiceUnavailable("Failed to read from defunct connection")

    return app, release


def test_requests_stuck_when_neo4j_goes_away_are_answered_503_at_once() -> None:
    async def scenario() -> tuple[httpx.Response, ...]:
        app, release = stuck_app()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            stuck = asyncio.create_task(client.get("/waits"))
            write = asyncio.create_task(client.post("/waits"))
            await asyncio.sleep(0.05)
            failed = await client.get("/fails")
            first = await asyncio.wait_for(stuck, 1)  # without the cancel: never answered
            # A request that began after the outage did is one of the first to reach
            # Neo4j again: the outage's later errors leave it alone.
            recent = asyncio.create_task(client.get("/waits"))
            await asyncio.sleep(0.05)
            await client.get("/fails")
            await asyncio.sleep(0.05)
            assert not recent.done() and not write.done()
            release.set()
            return failed, first, await recent, await write

    failed, stuck, recent, write = asyncio.run(scenario())
    assert failed.status_code == 503
    assert stuck.status_code == 503 and stuck.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert stuck.json()["detail"] == (
        f"Neo4j is unavailable ({CANCELLED}); retry in {RETRY_AFTER_S} s"
    )
    assert recent.status_code == 200 and write.status_code == 200  # writes are never cut


def test_a_deadlock_cancels_nothing() -> None:
    assert not going_away(TransientError("deadlock"))
    assert going_away(SessionExpired("gone"))
