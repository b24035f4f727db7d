"""At most ``max_concurrent_rails`` rail computations run at once; the others wait their turn
(pure asyncio, no Neo4j)."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from neo4j import AsyncDriver

from api.rails import RailsService
from graph.settings import Settings


def most_at_once(limit: int, requests: int) -> int:
    """How many of ``requests`` concurrent holders of a turn overlapped at most."""
    rails = RailsService(
        cast(AsyncDriver, None), Settings.with_fields(max_concurrent_rails=limit), model=None
    )
    running = peak = 0

    async def request() -> None:
        nonlocal running, peak
        async with rails.turn():
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)  # a round trip to Neo4j
            running -= 1

    async def all_at_once() -> None:
        await asyncio.gather(*(request() for _ in range(requests)))

    asyncio.run(all_at_once())
    return peak


@pytest.mark.parametrize("limit", [1, 3])
def test_requests_beyond_the_limit_wait_their_turn(limit: int) -> None:
    assert most_at_once(limit, requests=10) == limit


def test_zero_means_no_limit() -> None:
    assert most_at_once(0, requests=10) == 10
