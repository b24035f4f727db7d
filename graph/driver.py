"""Open Neo4j drivers from settings, with errors a person can act on.

Nothing connects at import time: callers open one driver (the CLI per
command, the API in its lifespan) and hand it to whoever needs it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from neo4j import (
    AsyncDriver,
    AsyncGraphDatabase,
    Driver,
    GraphDatabase,
    NotificationDisabledClassification,
)
from neo4j.exceptions import AuthError, ServiceUnavailable, TransientError

from graph.server import resolve_password
from graph.settings import Settings


class GraphConnectionError(RuntimeError):
    """Neo4j could not be reached or refused the credentials; the message says which."""


def _where(settings: Settings) -> str:
    return f"{settings.uri} (database '{settings.neo4j_database}', user '{settings.neo4j_user}')"


# A graph being filled legitimately queries labels and types that do not exist
# yet; Neo4j's "unrecognized" notifications would only be noise in the logs.
_QUIET: Final = [NotificationDisabledClassification.UNRECOGNIZED]


def open_driver(settings: Settings, *, verify: bool = True) -> Driver:
    """A sync driver for ``settings``; with ``verify``, fail now if Neo4j is unreachable."""
    driver = GraphDatabase.driver(
        settings.uri,
        auth=(settings.neo4j_user, resolve_password(settings)),
        notifications_disabled_classifications=_QUIET,
    )
    if verify:
        try:
            driver.verify_connectivity()
        except BaseException as e:
            driver.close()
            raise _explain(settings, e) from e
    return driver


def open_async_driver(settings: Settings) -> AsyncDriver:
    """An async driver for ``settings`` (the API's); it connects lazily. It retries a failed
    transaction for ``neo4j_retry_s`` only (the driver's default is 30 s): a request waiting
    that long for a stopped server holds its caller instead of telling it to come back. A
    transaction that met a busy moment is still tried again (:func:`retry_when_busy`)."""
    return retry_when_busy(
        AsyncGraphDatabase.driver(
            settings.uri,
            auth=(settings.neo4j_user, resolve_password(settings)),
            notifications_disabled_classifications=_QUIET,
            max_transaction_retry_time=settings.neo4j_retry_s,
        )
    )


BUSY_ATTEMPTS: Final = 3
"""How many times :func:`retry_when_busy` runs a transaction that meets a busy moment."""
BUSY_DELAY_S: Final = 0.02
"""The wait before its second attempt (doubled before each next one)."""
DATABASE_UNAVAILABLE: Final = "Neo.TransientError.General.DatabaseUnavailable"
"""The transient error of a database stopping or starting: not a busy moment."""


def retry_when_busy(driver: AsyncDriver) -> AsyncDriver:
    """``driver``, its ``execute_query`` trying a transaction again, up to
    :data:`BUSY_ATTEMPTS` times a few tens of milliseconds apart, when Neo4j says it met a
    busy moment and may succeed if retried (a transient error: a read outdated by a
    concurrent write, a deadlock, a lock timeout), but not when the database is stopping
    or starting (:data:`DATABASE_UNAVAILABLE`) nor when Neo4j cannot be reached: those
    are answered at once (503), as ``neo4j_retry_s`` = 0 asks.

    Under 32 clients of home rails, with the served log and fresh candidate lists written
    beside them, Neo4j refused 2 reads of 1,465 with ``Transaction.Outdated`` ("retry the
    transaction"; bench/chaos.py, 2026-12-06), which the API had answered 503."""
    run = driver.execute_query

    async def execute_query(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(BUSY_ATTEMPTS):
            try:
                return await run(*args, **kwargs)
            except TransientError as e:
                if attempt == BUSY_ATTEMPTS - 1 or e.code == DATABASE_UNAVAILABLE:
                    raise
                await asyncio.sleep(BUSY_DELAY_S * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    setattr(driver, "execute_query", execute_query)  # noqa: B010 (an instance's method)
    return driver


def _explain(settings: Settings, error: BaseException) -> BaseException:
    if isinstance(error, AuthError):
        source = "NEO4J_PASSWORD" if settings.neo4j_password else str(settings.password_file)
        return GraphConnectionError(
            f"Neo4j at {_where(settings)} rejected the credentials: authentication failed. "
            f"Check NEO4J_USER and the password from {source}."
        )
    if isinstance(error, ServiceUnavailable | OSError):
        hint = (
            "Start the local server with 'graphrails neo4j start'."
            if settings.managed
            else "Check that the server is up and NEO4J_URI is right."
        )
        return GraphConnectionError(f"Neo4j is not reachable at {_where(settings)}. {hint}")
    return error
