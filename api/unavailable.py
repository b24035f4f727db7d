"""Neo4j away in the middle of a request: a 503 with ``Retry-After``, counted, not a 500.

The driver reconnects by itself once Neo4j answers again, so the API recovers without a
restart; until then every request that needs the graph is told when to come back, and
``/ready`` says why it is not ready.

A stopping Neo4j refuses new work at once but closes its Bolt connections only once its
databases have stopped, seconds later: a GET under way then waits on a connection that
will not answer. So the first request told that Neo4j is going away also cancels the
GETs that began before it and have not begun their answer (:class:`InFlight`), and they
are answered 503 at once; so does every 503 of that outage (turned away while the stuck
ones hold the turns, or failing), never a request that began after the outage did (those
fail fast, or are the first ones to reach Neo4j again). No other request may come to find
it out (every turn held by a stuck one): so while a GET has been under way for
:data:`STUCK_CHECK_S`, :func:`watch_stuck` checks Neo4j itself (:func:`bolt_accepts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from neo4j.exceptions import (
    ConnectionPoolError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Metrics
from graph.driver import DATABASE_UNAVAILABLE

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


OUTAGE_GAP_S = 10.0
"""A going-away error this long after the last one begins a new outage."""
CANCELLED = "CancelledWhileUnavailable"
"""The kind (metrics label, answer) of a request cancelled that way."""


class InFlight:
    """The GETs under way and when each began, until its answer begins."""

    def __init__(self) -> None:
        self._since: dict[asyncio.Task[Any], float] = {}
        self._cancelled: set[asyncio.Task[Any]] = set()
        self._outage_began: float | None = None
        self._last_going_away = -math.inf

    def begin(self, task: asyncio.Task[Any]) -> None:
        """``task``, a GET, is under way."""
        self._since[task] = time.monotonic()

    def answering(self, task: asyncio.Task[Any]) -> None:
        """``task`` began its answer: too late to cancel it."""
        self._since.pop(task, None)

    def oldest(self) -> float:
        """How long the GET under way the longest (not cancelled) has been: 0 if none."""
        since = [s for task, s in self._since.items() if task not in self._cancelled]
        return time.monotonic() - min(since) if since else 0.0

    def was_cancelled(self, task: asyncio.Task[Any]) -> bool:
        """Whether :meth:`cancel_stuck` cancelled ``task``."""
        return task in self._cancelled

    def end(self, task: asyncio.Task[Any]) -> None:
        """``task`` is over, however it ended."""
        self._since.pop(task, None)
        self._cancelled.discard(task)

    def going_away(self) -> int:
        """Note that a request found Neo4j going away (the first of an outage dates it),
        then :meth:`cancel_stuck`."""
        now = time.monotonic()
        if now - self._last_going_away > OUTAGE_GAP_S:
            self._outage_began = now
        self._last_going_away = now
        return self.cancel_stuck()

    def cancel_stuck(self) -> int:
        """Cancel every GET but the caller's that began before the outage and has not
        begun its answer; how many."""
        began, current = self._outage_began, asyncio.current_task()
        if began is None:
            return 0
        stuck = [
            task
            for task, since in self._since.items()
            if task is not current and task not in self._cancelled and since < began
        ]
        for task in stuck:
            self._cancelled.add(task)
            task.cancel()
        return len(stuck)


STUCK_CHECK_S = 0.25
"""While a GET has been under way this long, :func:`watch_stuck` checks Neo4j every as long.
A rail on a warm Neo4j takes tens of milliseconds; the stop of a Neo4j under load left
requests waiting 1.0-1.1 s for another to find it going away (bench/chaos.py), past the
second the API promises."""
BOLT_PORT = 7687
"""Bolt's port when the URI names none."""


async def bolt_accepts(uri: str) -> None:
    """Open a TCP connection to the Bolt address of ``uri`` and close it; raise
    :class:`ServiceUnavailable` if it is refused. A stopping Neo4j closes its Bolt listener
    first, while the connections it has go on answering (a pooled round trip, as
    ``verify_connectivity`` makes, kept succeeding for over a second of a stop in which new
    connections were refused after 0.3 s): so a new connection, and no more than that (no
    handshake, no credentials), is what tells a stop soonest."""
    parts = urlsplit(uri)
    host, port = parts.hostname or "localhost", parts.port or BOLT_PORT
    try:
        _, writer = await asyncio.open_connection(host, port)
    except ConnectionRefusedError as e:
        raise ServiceUnavailable(f"Neo4j refused a new connection to {host}:{port}") from e
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def watch_stuck(in_flight: InFlight, check: Callable[[], Awaitable[None]]) -> None:
    """Forever: while a GET has been under way for :data:`STUCK_CHECK_S`, run ``check``
    (:func:`bolt_accepts`) every :data:`STUCK_CHECK_S`; if it finds Neo4j going away, the
    GETs stuck on it are answered 503 (:meth:`InFlight.going_away`). A check that fails
    otherwise, or gets no answer in time, proves nothing: a busy or unreachable network is
    not a Neo4j going away, and the requests' own errors tell that."""
    while True:
        await asyncio.sleep(STUCK_CHECK_S)
        if in_flight.oldest() < STUCK_CHECK_S:
            continue
        try:
            await asyncio.wait_for(check(), 4 * STUCK_CHECK_S)
        except Exception as e:
            if going_away(e) and (cancelled := in_flight.going_away()):
                log.warning("%s: %d requests under way answered 503",
                            unavailable_reason(e), cancelled)  # fmt: skip


class CancelWhenUnavailable:
    """ASGI middleware: registers each GET in :class:`InFlight` and answers 503 the ones
    :meth:`InFlight.cancel_stuck` cancels (any other cancellation goes on as it came)."""

    def __init__(self, app: ASGIApp, in_flight: InFlight) -> None:
        self.app = app
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        if scope["type"] != "http" or scope["method"] != "GET" or task is None:
            await self.app(scope, receive, send)
            return
        flight = self.in_flight

        async def send_tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                flight.answering(task)
            await send(message)

        flight.begin(task)
        try:
            await self.app(scope, receive, send_tracked)
        except asyncio.CancelledError:
            if not flight.was_cancelled(task) or task.cancelling() > 1:
                raise
            task.uncancel()
            app = scope.get("app")
            metrics: Metrics | None = getattr(getattr(app, "state", None), "metrics", None)
            if metrics is not None:
                metrics.neo4j_unavailable.labels(CANCELLED).inc()
            await unavailable_response(CANCELLED, RETRY_AFTER_S)(scope, receive, send)
        finally:
            flight.end(task)


def unavailable_reason(exc: Exception) -> str:
    """One line for a log saying why Neo4j could not answer (no traceback: an outage
    repeats it for every poll)."""
    text = str(exc).strip()
    first = text.splitlines()[0].rstrip(":") if text else ""
    return f"Neo4j is unavailable ({type(exc).__name__}{': ' + first if first else ''})"


def going_away(exc: Exception) -> bool:
    """Whether ``exc`` says Neo4j is going or gone (not one busy moment, such as a deadlock)."""
    code = getattr(exc, "code", None)
    return isinstance(exc, (ServiceUnavailable, SessionExpired)) or code == DATABASE_UNAVAILABLE


def unavailable_response(kind: str, retry: int, detail: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"detail": detail or f"Neo4j is unavailable ({kind}); retry in {retry} s"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(retry)},
    )


async def neo4j_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The answer to a request Neo4j failed: 503, ``Retry-After``, the error's kind."""
    kind = type(exc).__name__
    retry = WARMING_RETRY_AFTER_S if isinstance(exc, WarmingUpError) else RETRY_AFTER_S
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.neo4j_unavailable.labels(kind).inc()
    in_flight: InFlight | None = getattr(request.app.state, "in_flight", None)
    if in_flight is not None:
        if going_away(exc):
            in_flight.going_away()
        else:  # turned away (the stuck hold the turns) or busy: only the outage's stuck
            in_flight.cancel_stuck()
    # Turned away while warming up: thousands of times in a restart, nothing new to say.
    level = logging.DEBUG if isinstance(exc, WarmingUpError) else logging.WARNING
    log.log(level, "Neo4j unavailable during %s %s: %s: %s",
            request.method, request.url.path, kind, exc)  # fmt: skip
    warming = f"{exc}; retry in {retry} s" if isinstance(exc, WarmingUpError) else None
    return unavailable_response(kind, retry, warming)


def install_unavailable_handler(app: FastAPI) -> None:
    """The 503 handlers, and the middleware that cancels GETs stuck on a Neo4j going away
    (added first: innermost, so their 503s pass through the request id and metrics)."""
    app.state.in_flight = InFlight()
    app.add_middleware(CancelWhenUnavailable, in_flight=app.state.in_flight)
    for error in (*UNAVAILABLE, WarmingUpError):
        app.add_exception_handler(error, neo4j_unavailable)
