"""While Neo4j recovers from an outage (from a Neo4j error until a rail succeeds again), the
API's background work leaves it to the first rail: the served log's writes and the polls of
the serving model and of the running experiment skip their rounds, then resume (pure asyncio:
a driver that records its calls stands for Neo4j)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from neo4j import AsyncDriver
from neo4j.exceptions import ServiceUnavailable

from api.experiments import ExperimentArms
from api.rails.admission import Admission
from api.rails.service import RailsService
from api.reload import ModelReloader
from api.served import ServedLog
from graph.settings import Settings

ROUND_S = 0.01


class Pause:
    """A pause the test lifts."""

    def __init__(self) -> None:
        self.on = True

    def __call__(self) -> bool:
        return self.on

    def lift(self) -> None:
        self.on = False


class Recorder:
    """A driver whose every statement succeeds with no rows, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def execute_query(self, *args: Any, **kwargs: Any) -> tuple[list[Any], None, None]:
        self.calls += 1
        return [], None, None


def test_recovering_lasts_from_a_neo4j_error_to_the_next_success() -> None:
    admission = Admission(4)

    async def outage_then_success() -> list[bool]:
        seen = [admission.recovering]
        try:
            async with admission.turn():
                raise ServiceUnavailable("Neo4j stopped")
        except ServiceUnavailable:
            pass
        seen.append(admission.recovering)
        async with admission.turn():
            seen.append(admission.recovering)  # still: the rail has not succeeded yet
        seen.append(admission.recovering)
        return seen

    assert asyncio.run(outage_then_success()) == [False, True, True, False]


def rounds_around(
    resume: Callable[[], None], loop: Callable[[], Any], recorder: Recorder
) -> tuple[int, int]:
    """The calls ``loop`` made before ``resume()``, then after it."""

    async def run() -> tuple[int, int]:
        task = asyncio.create_task(loop())
        await asyncio.sleep(20 * ROUND_S)
        during = recorder.calls
        resume()
        await asyncio.sleep(20 * ROUND_S)
        task.cancel()
        return during, recorder.calls - during

    return asyncio.run(run())


def test_the_served_log_keeps_its_rails_queued_while_neo4j_recovers() -> None:
    recorder, pause = Recorder(), Pause()
    settings = Settings.with_fields(served_flush_s=ROUND_S)
    log = ServedLog(cast(AsyncDriver, recorder), settings, paused=pause)
    log.record({"request_id": "r1"})
    during, after = rounds_around(pause.lift, log._run, recorder)
    assert during == 0 and after >= 1 and log.queued() == 0


def test_the_experiment_poll_waits_while_neo4j_recovers() -> None:
    recorder, pause = Recorder(), Pause()
    settings = Settings.with_fields(experiments_poll_s=ROUND_S)
    arms = ExperimentArms(cast(AsyncDriver, recorder), settings, paused=pause)
    during, after = rounds_around(pause.lift, arms.run, recorder)
    assert during == 0 and after >= 1


def test_the_model_poll_waits_while_neo4j_recovers() -> None:
    recorder = Recorder()
    driver = cast(AsyncDriver, recorder)
    rails = RailsService(driver, Settings.with_fields(max_concurrent_rails=4), model=None)
    rails.admission.allowed = 1  # as after a Neo4j error
    assert rails.admission.recovering
    reloader = ModelReloader(
        driver, rails, database="neo4j", models_dir=Settings().models_dir, interval_s=ROUND_S
    )

    def a_rail_succeeded() -> None:
        rails.admission.allowed = 2

    during, after = rounds_around(a_rail_succeeded, reloader.run, recorder)
    assert during == 0 and after >= 1
