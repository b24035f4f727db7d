"""Neo4j away in the middle of a request: a 503 with ``Retry-After``, counted, not a 500.

The driver reconnects by itself once Neo4j answers again, so the API recovers without a
restart; until then every request that needs the graph is told when to come back, and
``/ready`` says why it is not ready.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from neo4j.exceptions import (
    ConnectionPoolError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from api.metrics import Metrics

log = logging.getLogger("graphrails.api")

RETRY_AFTER_S = 5
"""What ``Retry-After`` tells a caller while Neo4j is unavailable (a restart takes longer)."""
WARMING_RETRY_AFTER_S = 1
"""What it tells a caller turned away while Neo4j warms up (a turn frees in a second or so)."""


class WarmingUpError(RuntimeError):
    """No rail turn is free while the API admits few at once, Neo4j being cold after a start
    or an outage (:mod:`api.rails.admission`)."""


UNAVAILABLE = (ServiceUnavailable, SessionExpired, ConnectionPoolError, TransientError)
"""The driver's errors that mean "Neo4j cannot answer now, try again later" (lost or refused
connections, a database stopping or starting, a deadlock the retries did not get past)."""


async def neo4j_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The answer to a request Neo4j failed: 503, ``Retry-After``, the error's kind."""
    kind = type(exc).__name__
    retry = WARMING_RETRY_AFTER_S if isinstance(exc, WarmingUpError) else RETRY_AFTER_S
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.neo4j_unavailable.labels(kind).inc()
    # Turned away while warming up: thousands of times in a restart, nothing new to say.
    level = logging.DEBUG if isinstance(exc, WarmingUpError) else logging.WARNING
    log.log(level, "Neo4j unavailable during %s %s: %s: %s",
            request.method, request.url.path, kind, exc)  # fmt: skip
    return JSONResponse(
        {
            "detail": f"{exc}; retry in {retry} s"
            if isinstance(exc, WarmingUpError)
            else f"Neo4j is unavailable ({kind}); retry in {retry} s"
        },
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(retry)},
    )


def install_unavailable_handler(app: FastAPI) -> None:
    for error in (*UNAVAILABLE, WarmingUpError):
        app.add_exception_handler(error, neo4j_unavailable)
