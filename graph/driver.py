"""Open Neo4j drivers from settings, with errors a person can act on.

Nothing connects at import time: callers open one driver (the CLI per
command, the API in its lifespan) and hand it to whoever needs it.
"""

from __future__ import annotations

from typing import Final

from neo4j import (
    AsyncDriver,
    AsyncGraphDatabase,
    Driver,
    GraphDatabase,
    NotificationDisabledClassification,
)
from neo4j.exceptions import AuthError, ServiceUnavailable

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
    that long for a stopped server holds its caller instead of telling it to come back."""
    return AsyncGraphDatabase.driver(
        settings.uri,
        auth=(settings.neo4j_user, resolve_password(settings)),
        notifications_disabled_classifications=_QUIET,
        max_transaction_retry_time=settings.neo4j_retry_s,
    )


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
