"""The simulator sends a request answered 503 again after its Retry-After, as an app
backend would, and gives up after a few tries (pure: an httpx mock transport)."""

from __future__ import annotations

import asyncio

import httpx

from sim.run import RETRIES, Summary, _retrying


def answers(*statuses: int) -> tuple[httpx.AsyncClient, list[int]]:
    """A client whose requests are answered ``statuses`` in turn (then 200), and the list
    of the statuses it has answered."""
    seen: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        status = statuses[len(seen)] if len(seen) < len(statuses) else 200
        seen.append(status)
        return httpx.Response(status, headers={"Retry-After": "0"})

    return httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url="http://api"), seen


def test_a_503_is_sent_again_and_counted() -> None:
    client, seen = answers(503, 503)
    summary = Summary()
    response = asyncio.run(_retrying(summary, lambda: client.get("/v1/x")))
    assert response.status_code == 200 and seen == [503, 503, 200]
    assert summary.retries == 2


def test_other_errors_are_not_retried_and_503s_not_forever() -> None:
    client, seen = answers(422)
    assert asyncio.run(_retrying(Summary(), lambda: client.get("/v1/x"))).status_code == 422
    assert seen == [422]
    client, seen = answers(*[503] * 50)
    summary = Summary()
    assert asyncio.run(_retrying(summary, lambda: client.get("/v1/x"))).status_code == 503
    assert len(seen) == RETRIES + 1 and summary.retries == RETRIES
