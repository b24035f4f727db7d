"""The API driver's retry of a transaction that met a busy moment (graph.driver)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from neo4j.exceptions import DatabaseUnavailable, ServiceUnavailable, TransientError

from graph.driver import BUSY_ATTEMPTS, DATABASE_UNAVAILABLE, retry_when_busy


class OutdatedError(TransientError):
    code = "Neo.TransientError.Transaction.OutdatedError"


class StoppingError(DatabaseUnavailable):
    code = DATABASE_UNAVAILABLE


class Flaky:
    """A driver whose ``execute_query`` raises each of ``errors`` in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def execute_query(self, query: str, **kwargs: Any) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return f"ran {query}"


def run(driver: Flaky) -> Any:
    return asyncio.run(retry_when_busy(driver).execute_query("RETURN 1"))  # type: ignore[arg-type]


def test_a_read_outdated_by_a_concurrent_write_is_tried_again() -> None:
    driver = Flaky(OutdatedError("outdated"), OutdatedError("outdated"))
    assert run(driver) == "ran RETURN 1"
    assert driver.calls == 3


def test_a_busy_moment_that_lasts_is_raised_after_the_last_attempt() -> None:
    driver = Flaky(*(OutdatedError("outdated") for _ in range(BUSY_ATTEMPTS)))
    with pytest.raises(OutdatedError):
        run(driver)
    assert driver.calls == BUSY_ATTEMPTS


@pytest.mark.parametrize("error", [StoppingError("stopping"), ServiceUnavailable("down")])
def test_a_database_going_away_is_not_tried_again(error: Exception) -> None:
    driver = Flaky(error)
    with pytest.raises(type(error)):
        run(driver)
    assert driver.calls == 1
