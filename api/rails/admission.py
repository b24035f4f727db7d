"""Admission of rail computations: at most ``max_concurrent_rails`` at once, and a slow start
whenever Neo4j is cold (issue 18, docs/benchmarks.md "Neo4j stopped under load").

A Neo4j that has just started (or restarted) has an empty query-plan cache and a cold JVM:
planning the home rail's statement takes seconds, and Neo4j plans a statement once per
transaction that runs it while it is not cached, so eight requests at once plan it eight
times over on the same cores. Measured on two cores, the first 32 home rails after a start
took 20-28 s together, against 6 s for the first one alone, and clients that gave up at
10 s left their requests running, so the API did not answer 200 for 17-30 s after Neo4j
was back. Hence a slow start: after each error saying Neo4j cannot answer (it is
stopping, down or starting), one rail at a time is admitted, and each success doubles the
turns, up to the limit (with one more turn per success, as before, callers were still
turned away up to 1.4 s after the first 200). Below the limit, a
request that finds no free turn is not queued behind the cold (or absent) Neo4j: it is
answered 503 with a short ``Retry-After`` at once. The API starts with every turn open:
a Neo4j that already serves is warm, and an API restarted beside it should not turn its
first callers away.

During a slow start a caller waits for its rail under a second (:meth:`Admission.run`):
past that it is answered 503 while the rail computes on in the background, so that no
caller is left waiting on a Neo4j that plans for seconds.

Until a rail has succeeded (:attr:`Admission.cold`) a home rail has Neo4j plan its
eligibility statement beside its context, not after it. Given ``warm_up``, the first rail
that succeeds after an outage also starts it in the background, once per outage: it has
Neo4j plan the rail statements (see :mod:`api.rails.warm_up`), so that Neo4j plans each
early. Not before that success: on two cores a warm-up beside the first rail's plans (the
one round trip's statement among them) slowed them, and the first 200 with them, by 1.6-2.6
s. Until the warm-up has run (:attr:`Admission.planned`) the home rail takes smaller
statements than its one round trip (docs/benchmarks.md, "Neo4j stopped under load").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from api.tasks import cancel
from api.unavailable import UNAVAILABLE, WarmingUpError

log = logging.getLogger("graphrails.api.admission")

WARM_UP_RETRY_S = 0.5
"""A warm-up that found Neo4j away again is tried again with a rail that succeeds this many
seconds later, not with every rail meanwhile."""
SLOW_START_WAIT_S = 0.5
"""During a slow start, how long a caller waits for its rail (:meth:`Admission.run`) before
it is answered 503 while the rail goes on computing: within the second the API promises,
with room for a busy event loop (at 0.8 s the slowest such 503 took 0.83 s under load). A
rail on a warm Neo4j takes tens of milliseconds."""

T = TypeVar("T")


class Admission:
    """``limit`` turns (0: no limit, and no slow start), doubled by each success after a
    Neo4j error (see the module's docstring).

    ``waiting`` and ``in_flight`` count the requests at each stage (for the metrics);
    ``allowed`` is the number of turns open now.
    """

    def __init__(self, limit: int, *, warm_up: Callable[[], Awaitable[None]] | None = None) -> None:
        self.limit = limit
        self.allowed = limit
        self.waiting = 0
        self.in_flight = 0
        self._turns = asyncio.Semaphore(limit) if limit else None
        self._epoch = 0
        """Bumped on every Neo4j error: a success of a request admitted before it (while
        the error was happening) says nothing about the Neo4j that is there now."""
        self._warm_up = warm_up
        self._warm_task: asyncio.Task[None] | None = None
        self._warmed_epoch = 0
        """The epoch whose Neo4j the warm-up has planned for (0: the start, at full speed)."""
        self._warm_tried = -WARM_UP_RETRY_S
        self._unanswered: set[asyncio.Task[Any]] = set()
        """Rails computing on after their caller was answered 503 (:meth:`run`)."""

    @property
    def starting(self) -> bool:
        """True while fewer turns than the limit are open."""
        return self.allowed < self.limit

    @property
    def cold(self) -> bool:
        """True from an error saying Neo4j cannot answer until a rail succeeds: the Neo4j that
        answers next may have just started, its plan cache empty (one rail at a time then)."""
        return self.starting and self.allowed == 1

    @property
    def planned(self) -> bool:
        """False from an error saying Neo4j cannot answer until the warm-up has run for the
        Neo4j that answers since: its plan cache may be empty, and the home rail then takes
        smaller statements than its one round trip (:meth:`RailsService.home`)."""
        return self._warm_up is None or self._warmed_epoch == self._epoch

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one turn while the block runs: wait for it at full speed, or raise
        :class:`WarmingUpError` at once during a slow start if none is free."""
        if self._turns is None:
            self.in_flight += 1
            try:
                yield
            finally:
                self.in_flight -= 1
            return
        self._refuse_if_starting()
        self.waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self.waiting -= 1
        try:
            # A request that queued at full speed may find a slow start begun meanwhile.
            self._refuse_if_starting()
        except WarmingUpError:
            self._turns.release()
            raise
        epoch = self._epoch
        self.in_flight += 1
        try:
            yield
        except UNAVAILABLE:
            self._epoch += 1
            self.allowed = 1
            raise
        else:
            if epoch == self._epoch:
                self._start_warm_up()  # Neo4j answers again: plan the rail statements
                self.allowed = min(self.limit, self.allowed * 2)
        finally:
            self.in_flight -= 1
            self._turns.release()

    async def run(self, compute: Callable[[], Awaitable[T]]) -> T:
        """``compute()`` under a turn (see :meth:`turn`). During a slow start the caller waits
        :data:`SLOW_START_WAIT_S` at most: a Neo4j just started plans a rail's statement for
        seconds (8-12 s for the home rail on two cores), and a caller left waiting that
        long gives up. Past it, the caller is answered 503 (:class:`WarmingUpError`) while
        the rail computes on in the background, holding its turn, its result dropped: the
        plans it has Neo4j make serve the next callers, and its success opens more turns.
        Measured with bench/chaos.py, the rail admitted while Neo4j was starting went
        unanswered for 10 s (its caller's timeout) in every run before this."""

        async def under_turn() -> T:
            async with self.turn():
                return await compute()

        if not self.starting:
            return await under_turn()
        task = asyncio.create_task(under_turn())
        try:
            return await asyncio.wait_for(asyncio.shield(task), SLOW_START_WAIT_S)
        except TimeoutError:
            self._unanswered.add(task)
            task.add_done_callback(self._dropped)
            raise WarmingUpError(
                "Neo4j is warming up after a start or an outage: this rail was not ready "
                f"within {SLOW_START_WAIT_S:g} s and is still being computed"
            ) from None

    def _dropped(self, task: asyncio.Task[Any]) -> None:
        """A rail whose caller was answered 503 is done: how it ended is only logged."""
        self._unanswered.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, (*UNAVAILABLE, WarmingUpError)):
            log.warning("a rail computed after its caller was answered 503 failed: %r", error)

    def _start_warm_up(self) -> None:
        """Start the warm-up in the background unless it ran for this epoch's Neo4j, runs now,
        or found Neo4j away less than :data:`WARM_UP_RETRY_S` ago."""
        if self._warm_up is None or self._warmed_epoch == self._epoch:
            return
        if self._warm_task is not None and not self._warm_task.done():
            return
        now = time.monotonic()
        if now - self._warm_tried < WARM_UP_RETRY_S:
            return
        self._warm_tried = now
        self._warm_task = asyncio.create_task(self._warm(self._epoch, self._warm_up))

    async def _warm(self, epoch: int, warm_up: Callable[[], Awaitable[None]]) -> None:
        try:
            await warm_up()
        except UNAVAILABLE:
            return  # Neo4j still away (or away again): a rail admitted later tries again
        except Exception:  # an optimisation: it must never take a rail or the API down
            log.exception("could not plan the rail statements after a Neo4j outage")
        if epoch == self._epoch:
            self._warmed_epoch = epoch

    async def close(self) -> None:
        """Stop a warm-up under way, and the rails computing on after a 503."""
        await cancel(self._warm_task)
        self._warm_task = None
        for task in list(self._unanswered):
            await cancel(task)

    def _refuse_if_starting(self) -> None:
        if self.starting and self.in_flight >= self.allowed:
            rails = "1 rail" if self.allowed == 1 else f"{self.allowed} rails"
            raise WarmingUpError(
                f"Neo4j is warming up after a start or an outage: the API computes {rails} "
                f"at a time for now (up to {self.limit})"
            )
