"""The served-rails log: every rail item the API returned, recorded in Neo4j for the audits.

One ``(:Served)`` node per rail returned, ``-[:SERVED_ITEM {position, ...}]->`` each of
its programs, and ``(:User)-[:WAS_SERVED]->`` it when the user exists (the model is
in docs/data.md; the audits are ``cypher/explore/csa_audit.cypher`` and
``blacklist_audit.cypher``).

Requests never wait for Neo4j here: :meth:`ServedLog.record` appends to a bounded
in-memory queue (a full queue drops the rail and counts it), and a background task
started in the API's lifespan writes the queue every ``served_flush_s`` seconds, one
``UNWIND`` transaction per :data:`BATCH` rails (a single one at ordinary load), prunes
records older than the retention from time to time, and writes what is left when the
API shuts down. A failed write is logged and counted, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from neo4j import AsyncDriver, RoutingControl

from api.tasks import cancel
from api.unavailable import UNAVAILABLE
from graph.queries import query
from graph.settings import Settings

if TYPE_CHECKING:
    from api.metrics import Metrics
    from api.rails.types import Rail

log = logging.getLogger("graphrails.api.served")

BATCH = 50
"""Served rails per write transaction (a flush writes every batch the queue holds). The
driver packs the parameters on the event loop, about 0.25 ms per rail of 20 items here,
so one batch never holds the requests up for more than ~15 ms."""
PRUNE_EVERY_S = 3_600.0
PRUNE_BATCH = 10_000


def served_row(
    rail: Rail,
    *,
    request_id: str,
    user_id: str | None,
    at: datetime,
    as_of: datetime,
    experiment: str | None = None,
    arm: str | None = None,
) -> dict[str, Any]:
    """One rail as ``cypher/served/write.cypher`` takes it (``at``: when it was served,
    ``as_of``: the time it was computed for; ``experiment`` and ``arm``: the user's arm
    of the running experiment, if any)."""
    return {
        "id": uuid.uuid4().hex,
        "request_id": request_id,
        "rail": rail.rail,
        "at": at,
        "as_of": as_of,
        "user_id": user_id,
        "anchor_program_id": rail.anchor_id,
        "model_version": rail.model_version,
        "experiment": experiment,
        "arm": arm,
        "csa_ceiling_level": rail.csa_ceiling_level,
        "bundles": rail.bundles,
        "items": [
            [i.offer.program_id, i.source, i.backfill, i.offer.channel_id, i.offer.bundle_id]
            for i in rail.items
        ],
    }


class ServedLog:
    """The queue of served rails and the task that writes it to Neo4j.

    Args:
        driver (AsyncDriver): where to write (the API's driver).
        settings (Settings): ``served_queue_size``, ``served_flush_s``,
            ``served_retention_days``, ``neo4j_database``.
        metrics (Metrics, optional): where to count writes, drops and errors.
    """

    def __init__(
        self, driver: AsyncDriver, settings: Settings, *, metrics: Metrics | None = None
    ) -> None:
        self.driver = driver
        self.settings = settings
        self.metrics = metrics
        self._queue: deque[dict[str, Any]] = deque()
        self._task: asyncio.Task[None] | None = None

    def queued(self) -> int:
        return len(self._queue)

    def record(self, row: dict[str, Any]) -> bool:
        """Queue one served rail (see :func:`served_row`); False if the queue was full and
        the rail was dropped. Never blocks, never raises."""
        if len(self._queue) >= self.settings.served_queue_size:
            if self.metrics is not None:
                self.metrics.served_log_dropped.labels("full").inc()
            return False
        self._queue.append(row)
        return True

    def start(self) -> None:
        """Start writing in the background (in the running event loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="graphrails-served-log")

    async def stop(self) -> None:
        """Stop the background task, then write whatever is still queued."""
        await cancel(self._task)
        self._task = None
        await self.flush()

    async def _run(self) -> None:
        last_prune = -math.inf
        while True:
            await asyncio.sleep(self.settings.served_flush_s)
            await self.flush()
            if time.monotonic() - last_prune >= PRUNE_EVERY_S:
                last_prune = time.monotonic()
                await self.prune()

    async def flush(self) -> int:
        """Write everything queued, a batch per transaction; return the rails written.

        A batch Neo4j refuses is dropped, logged and counted; one it could not take
        because it was unavailable goes back to the queue. Either way the rest of the
        queue waits for the next flush.
        """
        written = 0
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            try:
                await self.driver.execute_query(
                    query("served/write"), rows=batch,
                    database_=self.settings.neo4j_database, routing_=RoutingControl.WRITE,
                )  # fmt: skip
            except asyncio.CancelledError:
                self._queue.extendleft(reversed(batch))  # stop() writes them
                raise
            except UNAVAILABLE as e:
                # Neo4j away (stopped, restarting): the rails were served, so keep them for
                # the next flush rather than lose them; the queue's bound still holds new
                # ones (it may exceed it by one batch while this one waits).
                self._queue.extendleft(reversed(batch))
                log.warning("served log: Neo4j unavailable, %d rails kept for the next write: "
                            "%s: %s", len(self._queue), type(e).__name__, e)  # fmt: skip
                if self.metrics is not None:
                    self.metrics.served_log_flush_errors.inc()
                break
            except Exception as e:  # the log must never take the API down
                log.warning("served log: %d rails not written: %s: %s",
                            len(batch), type(e).__name__, e)  # fmt: skip
                if self.metrics is not None:
                    self.metrics.served_log_flush_errors.inc()
                    self.metrics.served_log_dropped.labels("error").inc(len(batch))
                break
            written += len(batch)
            if self.metrics is not None:
                self.metrics.served_log_written.inc(len(batch))
        return written

    async def prune(self, *, now: datetime | None = None) -> int:
        """Delete served rails older than the retention; return how many. Errors are
        logged and counted like a failed flush."""
        now = now or datetime.now(UTC)
        before = now - timedelta(days=self.settings.served_retention_days)
        deleted = 0
        try:
            while True:
                records, _, _ = await self.driver.execute_query(
                    query("served/prune"), before=before, batch=PRUNE_BATCH,
                    database_=self.settings.neo4j_database, routing_=RoutingControl.WRITE,
                )  # fmt: skip
                n = int(records[0]["deleted"])
                deleted += n
                if n < PRUNE_BATCH:
                    return deleted
        except Exception as e:  # CancelledError is not an Exception: stop() still works
            log.warning("served log: pruning failed: %s: %s", type(e).__name__, e)
            if self.metrics is not None:
                self.metrics.served_log_flush_errors.inc()
            return deleted


@contextlib.asynccontextmanager
async def open_served_log(
    driver: AsyncDriver, settings: Settings, *, metrics: Metrics | None = None
) -> AsyncIterator[ServedLog | None]:
    """The running served log for the API's lifespan (None when ``served_log`` is off);
    what is still queued is written on the way out."""
    if not settings.served_log:
        yield None
        return
    served = ServedLog(driver, settings, metrics=metrics)
    served.start()
    try:
        yield served
    finally:
        await served.stop()
