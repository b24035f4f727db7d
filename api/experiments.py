"""Experiments in the API: the running experiment's arms, and each request's arm.

A background task started in the lifespan reads the running experiment from Neo4j
every ``GRAPHRAILS_EXPERIMENTS_POLL_INTERVAL`` seconds (``experiments/store.py``).
A rail request for a user asks :meth:`ExperimentArms.assignment` for their arm (a
hash, no I/O) and computes the rail with :meth:`Assignment.rails`: the same
:class:`~api.rails.RailsService`, its caches shared, with the arm's overrides. The
response and the served log name the experiment and the arm.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from neo4j import AsyncDriver

from api.model import ServingModel
from api.rails.eligibility import Fatigue
from api.rails.service import RailsService
from api.tasks import cancel
from api.unavailable import UNAVAILABLE, unavailable_reason
from experiments.arms import Arm, Experiment
from experiments.store import running
from gnn.artifacts import ArtifactError, load_version
from graph.settings import Settings

log = logging.getLogger("graphrails.api.experiments")


@dataclass(frozen=True)
class Assignment:
    """A user's arm of the running experiment, and how to compute rails under it."""

    experiment: str
    arm: Arm
    settings: Settings
    """The API's settings with the arm's blend overrides."""
    fatigue: Fatigue
    model: ServingModel | None
    """The arm's pinned model version, loaded (None: follow the serving version)."""

    def rails(self, base: RailsService) -> RailsService:
        """``base`` computing under this arm: a shallow copy, so the popularity caches,
        the admission turns and the driver stay shared; only what the arm overrides
        differs. The serving model is read from ``base`` now, so a hot swap still shows."""
        service = copy.copy(base)
        service.settings = self.settings
        service.fatigue = self.fatigue
        if self.model is not None:
            service.model = self.model
        service.personalised_home = self.arm.source != "popular_in_bundle"
        if self.arm.order == "retrieval" and service.model is not None:
            # The same version without its ranker: LightGCN's order, nothing else changed.
            service.model = dataclasses.replace(service.model, ranker=None)
        return service


class ExperimentArms:
    """The running experiment (polled from Neo4j) and its users' arms; one per application."""

    def __init__(self, driver: AsyncDriver, settings: Settings) -> None:
        self.driver = driver
        self.settings = settings
        self.experiment: Experiment | None = None
        self._arms: dict[str, Assignment] = {}
        self._task: asyncio.Task[None] | None = None
        self.error: str | None = None

    def assignment(self, user_id: str | None) -> Assignment | None:
        """The user's arm under the running experiment (None: no experiment, or no user)."""
        experiment = self.experiment
        if experiment is None or not user_id:
            return None
        return self._arms[experiment.assign(user_id).name]

    async def check(self) -> None:
        """Read the running experiment; rebuild the arms when it changed."""
        found = await running(self.driver, database=self.settings.neo4j_database)
        if found == self.experiment:
            return
        if found is None:
            self.experiment, self._arms = None, {}
            log.info("no experiment running")
            return
        arms = {}
        for arm in found.arms:
            arms[arm.name] = await self._assignment(found, arm)
        self.experiment, self._arms = found, arms
        described = "; ".join(a.describe() for a in found.arms)
        log.info("experiment %s running: %s", found.name, described)

    async def _assignment(self, experiment: Experiment, arm: Arm) -> Assignment:
        s = self.settings
        blend = {
            k: v
            for k, v in (("popularity_blend", arm.popularity_blend),
                         ("freshness_blend", arm.freshness_blend))
            if v is not None
        }  # fmt: skip
        settings = s.model_copy(update=blend) if blend else s
        if settings.popularity_blend + settings.freshness_blend > 1:
            raise ValueError(
                f"experiment {experiment.name}, arm {arm.name}: popularity_blend + "
                "freshness_blend would be above 1 with the API's settings"
            )
        fatigue = Fatigue(
            completion=_pick(arm.fatigue_completion, s.fatigue_completion),
            programs=_pick(arm.fatigue_programs, s.fatigue_programs),
            series=_pick(arm.fatigue_series, s.fatigue_series),
            channels=_pick(arm.fatigue_channels, s.fatigue_channels),
        )
        model = None
        if arm.model_version is not None:
            path = s.models_dir / arm.model_version
            model = await asyncio.to_thread(_load, path)
        return Assignment(experiment.name, arm, settings, fatigue, model)

    async def poll(self) -> None:
        """One :meth:`check`; a failure is logged and keeps the arms as they were."""
        try:
            await self.check()
            self.error = None
        except (ArtifactError, OSError, ValueError) as e:
            self.error = f"experiment not applied: {e}"
            log.error("%s", self.error)
        except UNAVAILABLE as e:  # Neo4j away for a moment: keep the arms, poll again
            log.warning("could not read the running experiment: %s", unavailable_reason(e))
        except Exception:
            log.warning("could not read the running experiment", exc_info=True)

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            await asyncio.sleep(self.settings.experiments_poll_s)
            await self.poll()

    @classmethod
    async def started(cls, driver: AsyncDriver, settings: Settings) -> ExperimentArms:
        """Arms read once (the first request already sees the running experiment), then
        polled in the background."""
        arms = cls(driver, settings)
        await arms.poll()
        arms._task = asyncio.create_task(arms.run(), name="graphrails-experiments")
        return arms

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None


T = TypeVar("T")


def _pick(override: T | None, default: T) -> T:
    return default if override is None else override


def _load(path: Path) -> ServingModel:
    return ServingModel.from_version(load_version(path))
