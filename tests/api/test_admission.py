"""At most ``max_concurrent_rails`` rail computations run at once; the others wait their turn;
after Neo4j failed, one at a time and twice as many per round of successes (pure asyncio, no Neo4j:
the Neo4j side is tests/api/test_unavailable.py)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast

import pytest
from neo4j import AsyncDriver
from neo4j.exceptions import ServiceUnavailable

from api.rails import admission as admission_module
from api.rails.admission import Admission
from api.rails.service import RailsService
from api.unavailable import WarmingUpError
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
        async with rails.admission.turn():
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
            async with rails.admission.turn():
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
        async with rails.admission.turn():  # the turn was given back: nothing is stuck
            assert rails.in_flight == 1

    asyncio.run(scenario())


def _service(limit: int) -> RailsService:
    return RailsService(
        cast(AsyncDriver, None), Settings.with_fields(max_concurrent_rails=limit), model=None
    )


async def _fail(rails: RailsService) -> None:
    """A rail whose Neo4j went away under it."""
    with contextlib.suppress(ServiceUnavailable):
        async with rails.admission.turn():
            raise ServiceUnavailable("connection refused")


def test_after_neo4j_failed_one_rail_at_a_time_then_each_success_doubles_the_turns() -> None:
    rails = _service(8)

    async def scenario() -> list[int]:
        await _fail(rails)
        opened = []
        while rails.admission.starting:
            opened.append(rails.admission.allowed)
            release = asyncio.Event()

            async def holder(release: asyncio.Event = release) -> None:
                async with rails.admission.turn():
                    await release.wait()

            holders = [asyncio.create_task(holder()) for _ in range(rails.admission.allowed)]
            await asyncio.sleep(0)
            # Every open turn is held: one more is turned away at once, not queued.
            with pytest.raises(WarmingUpError):
                async with rails.admission.turn():
                    pass
            assert rails.waiting == 0
            release.set()
            await asyncio.gather(*holders)
        return [*opened, rails.admission.allowed]

    # One rail, then two; the first of those two successes opens four turns, the second eight.
    assert asyncio.run(scenario()) == [1, 2, 8]
    assert rails.admission.allowed == 8 and not rails.admission.starting


def test_neo4j_is_cold_from_a_failure_until_a_rail_succeeds() -> None:
    rails = _service(8)

    async def scenario() -> list[bool]:
        seen = [rails.admission.cold]  # the API starts at full speed: Neo4j serves already
        await _fail(rails)
        seen.append(rails.admission.cold)
        async with rails.admission.turn():
            seen.append(rails.admission.cold)  # still: this rail has not succeeded yet
        seen.append(rails.admission.cold)
        return seen

    assert asyncio.run(scenario()) == [False, True, True, False]


def test_at_full_speed_requests_queue_as_before() -> None:
    rails = _service(2)

    async def scenario() -> None:
        await _fail(rails)
        async with rails.admission.turn():
            pass
        assert rails.admission.allowed == 2  # warm again: the third request waits its turn
        release = asyncio.Event()

        async def holder() -> None:
            async with rails.admission.turn():
                await release.wait()

        tasks = [asyncio.create_task(holder()) for _ in range(3)]
        await asyncio.sleep(0)
        assert (rails.waiting, rails.in_flight) == (1, 2)
        release.set()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())


def test_a_success_that_began_before_a_failure_does_not_reopen_the_turns() -> None:
    rails = _service(8)

    async def scenario() -> None:
        release = asyncio.Event()

        async def slow_success() -> None:
            async with rails.admission.turn():
                await release.wait()

        earlier = asyncio.create_task(slow_success())
        await asyncio.sleep(0)
        await _fail(rails)  # Neo4j goes away while the earlier request is under way
        release.set()
        await earlier
        assert rails.admission.allowed == 1

    asyncio.run(scenario())


def test_after_neo4j_failed_the_first_rail_to_succeed_starts_the_warm_up_once() -> None:
    calls = 0

    async def warm_up() -> None:
        nonlocal calls
        calls += 1

    admission = Admission(4, warm_up=warm_up)

    async def scenario() -> list[int]:
        seen = []
        async with admission.turn():  # at full speed (the API's start): nothing to plan
            pass
        await asyncio.sleep(0)
        seen.append(calls)
        with contextlib.suppress(ServiceUnavailable):
            async with admission.turn():
                raise ServiceUnavailable("connection refused")
        for _ in range(3):  # the slow start: the first rail to succeed starts it, once
            async with admission.turn():
                await asyncio.sleep(0)
            await asyncio.sleep(0)
            seen.append(calls)
        await admission.close()
        return seen

    assert asyncio.run(scenario()) == [0, 1, 1, 1]


def test_the_warm_up_waits_for_the_first_rail_to_succeed() -> None:
    """While the first rail admitted after an outage plans its statement on a cold Neo4j,
    nothing else asks Neo4j to plan: on two cores a warm-up beside it delayed the first 200
    (issue 18). A rail that fails starts nothing."""
    calls = 0

    async def warm_up() -> None:
        nonlocal calls
        calls += 1

    admission = Admission(4, warm_up=warm_up)

    async def fail() -> None:
        with contextlib.suppress(ServiceUnavailable):
            async with admission.turn():
                raise ServiceUnavailable("connection refused")

    async def scenario() -> list[int]:
        await fail()
        await fail()  # Neo4j still away: the rail admitted failed
        await asyncio.sleep(0)
        seen = [calls]
        release = asyncio.Event()

        async def first_rail() -> None:
            async with admission.turn():
                await release.wait()  # planning home.cypher on a cold JVM

        rail = asyncio.create_task(first_rail())
        for _ in range(3):
            await asyncio.sleep(0)
        seen.append(calls)
        release.set()
        await rail
        await asyncio.sleep(0)
        seen.append(calls)
        await admission.close()
        return seen

    assert asyncio.run(scenario()) == [0, 0, 1]


def test_a_warm_up_that_found_neo4j_away_is_tried_again_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts = 0

    async def warm_up() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ServiceUnavailable("connection refused")

    admission = Admission(4, warm_up=warm_up)

    async def admit() -> int:
        async with admission.turn():
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        return attempts

    async def scenario() -> list[int]:
        with contextlib.suppress(ServiceUnavailable):
            async with admission.turn():
                raise ServiceUnavailable("connection refused")
        seen = [await admit(), await admit()]  # Neo4j away: not again at once
        monkeypatch.setattr(admission_module, "WARM_UP_RETRY_S", 0.0)
        seen += [await admit(), await admit()]  # later: again, then never once it planned
        await admission.close()
        return seen

    assert asyncio.run(scenario()) == [1, 1, 2, 2]


def test_during_a_slow_start_a_slow_rail_is_answered_503_and_computes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(admission_module, "SLOW_START_WAIT_S", 0.05)
    rails = _service(4)
    done = asyncio.Event()

    async def cold_rail() -> str:  # a Neo4j just started plans the statement for seconds
        await asyncio.sleep(0.2)
        done.set()
        return "rail"

    async def scenario() -> tuple[float, int, int]:
        await _fail(rails)
        began = asyncio.get_running_loop().time()
        with pytest.raises(WarmingUpError, match="still being computed"):
            await rails.admitted(cold_rail)
        waited = asyncio.get_running_loop().time() - began
        # It holds its turn meanwhile: the next caller is turned away at once.
        with pytest.raises(WarmingUpError, match="1 rail at a time"):
            await rails.admitted(cold_rail)
        await done.wait()
        await asyncio.sleep(0)
        allowed = rails.admission.allowed  # its success opened a turn
        answered = await rails.admitted(lambda: asyncio.sleep(0.01, result=2))
        return waited, allowed, answered

    waited, allowed, answered = asyncio.run(scenario())
    assert waited < 0.15
    assert allowed == 2
    assert answered == 2


def test_at_full_speed_a_slow_rail_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admission_module, "SLOW_START_WAIT_S", 0.01)
    rails = _service(4)
    assert asyncio.run(rails.admitted(lambda: asyncio.sleep(0.05, result="rail"))) == "rail"
