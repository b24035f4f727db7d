"""A GET under way when Neo4j goes away is cancelled and answered 503 as soon as another
request, or the API's own check, finds Neo4j unavailable (issue 18's slowest 503s): the
middleware's own logic, with routes standing in for rails and a check standing in for a
round trip to Neo4j; the chaos benchmark measures it on a real Neo4j."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from fastapi import FastAPI
from neo4j.exceptions import ServiceUnavailable, SessionExpired, TransientError

from api.unavailable import (
    CANCELLED,
    RETRY_AFTER_S,
    STUCK_CHECK_S,
    bolt_accepts,
    going_away,
    install_unavailable_handler,
    watch_stuck,
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


async def _watched(failure: Exception | None) -> tuple[int, bool, int]:
    """A GET stuck, no other request, the API's check failing with ``failure`` (None: the
    check never answers): the calls of the check with nothing under way, whether the GET
    was answered within a second of the check's first round, and its status."""
    app, release = stuck_app()
    calls = 0

    async def check() -> None:
        nonlocal calls
        calls += 1
        if failure is None:
            await asyncio.Event().wait()
        raise failure

    watch = asyncio.create_task(watch_stuck(app.state.in_flight, check))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await asyncio.sleep(3 * STUCK_CHECK_S)
            idle_calls = calls
            stuck = asyncio.create_task(client.get("/waits"))
            await asyncio.wait({stuck}, timeout=2 * STUCK_CHECK_S + 1.0)
            answered = stuck.done()
            release.set()
            return idle_calls, answered, (await stuck).status_code
    finally:
        watch.cancel()


def test_the_api_checks_neo4j_itself_when_a_request_is_stuck() -> None:
    """No other request comes to find Neo4j going away (every turn may be held by a stuck
    one): the API's own check does, and the stuck GET is answered 503 within a second."""
    idle_calls, answered, status = asyncio.run(_watched(ServiceUnavailable("Connection refused")))
    assert idle_calls == 0  # nothing under way: Neo4j is not asked
    assert answered and status == 503


def test_a_busy_or_silent_neo4j_cuts_no_request() -> None:
    for failure in (TransientError("deadlock"), None):
        idle_calls, answered, status = asyncio.run(_watched(failure))
        assert (idle_calls, answered, status) == (0, False, 200), failure


def test_the_check_is_a_new_connection_to_the_bolt_port() -> None:
    """A listener that accepts passes the check; once it is closed (a stopping Neo4j closes
    its Bolt listener first) a new connection is refused: Neo4j is going away."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    asyncio.run(bolt_accepts(f"bolt://127.0.0.1:{port}"))
    listener.close()
    with pytest.raises(ServiceUnavailable, match=f"refused a new connection to 127.0.0.1:{port}"):
        asyncio.run(bolt_accepts(f"neo4j://127.0.0.1:{port}"))
    with pytest.raises(ServiceUnavailable) as refused:
        asyncio.run(bolt_accepts(f"bolt://127.0.0.1:{port}"))
    assert going_away(refused.value)
