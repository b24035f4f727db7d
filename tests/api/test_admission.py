"""At most ``max_concurrent_rails`` rail computations run at once; the others wait their turn
(pure asyncio, no Neo4j)."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from neo4j import AsyncDriver

from api.rails.service import RailsService
from graph.settings import Settings


def most_at_once(limit: int, requests: int) -> tuple[int, tuple[int, int]]:
    """How many of ``requests`` concurrent holders of a turn overlapped at most, and the
    service's (waiting, in flight) counts once they all started; checks both are back to 0
    at the end."""
    rails = RailsService(
        cast(AsyncDriver, None), Settings.with_fields(max_concurrent_rails=limit), model=None
    )
    running = peak = 0

    async def request() -> None:
        nonlocal running, peak
        async with rails.turn():
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.05)  # a round trip to Neo4j
            running -= 1

    async def all_at_once() -> tuple[int, int]:
        tasks = [asyncio.create_task(request()) for _ in range(requests)]
        await asyncio.sleep(0.01)  # every request started; the first turns still held
        started = (rails.waiting, rails.in_flight)
        await asyncio.gather(*tasks)
        return started

    started = asyncio.run(all_at_once())
    assert (rails.waiting, rails.in_flight) == (0, 0)
    return peak, started


@pytest.mark.parametrize("limit", [1, 3])
def test_requests_beyond_the_limit_wait_their_turn(limit: int) -> None:
    assert most_at_once(limit, requests=10) == (limit, (10 - limit, limit))


def test_zero_means_no_limit() -> None:
    assert most_at_once(0, requests=10) == (10, (0, 10))


def test_a_request_cancelled_while_waiting_gives_nothing_back() -> None:
    rails = RailsService(
        cast(AsyncDriver, None), Settings.with_fields(max_concurrent_rails=1), model=None
    )

    async def scenario() -> None:
        release = asyncio.Event()

        async def holder() -> None:
            async with rails.turn():
                await release.wait()

        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        waiter = asyncio.create_task(holder())  # a client that hangs up while queued
        await asyncio.sleep(0)
        assert (rails.waiting, rails.in_flight) == (1, 1)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        assert (rails.waiting, rails.in_flight) == (0, 1)
        release.set()
        await first
        async with rails.turn():  # the turn was given back: nothing is stuck
            assert rails.in_flight == 1

    asyncio.run(scenario())
