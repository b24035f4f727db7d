"""Hot swap: follow the model version Neo4j marks as serving, without a restart.

A background task started in the lifespan asks Neo4j every
``GRAPHRAILS_MODEL_POLL_INTERVAL`` seconds which version is serving. When it is
not the one in memory, the new artifact is read and verified off the event
loop (``asyncio.to_thread``), then handed to ``RailsService.swap_model``:
requests keep being answered throughout, by the old version until the swap and
by the new one after it. A version that fails to load (missing, corrupted) is
logged and not retried until another version is marked serving; the old one
keeps serving meanwhile. When Neo4j marks no version, or cannot be reached,
nothing changes.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from neo4j import AsyncDriver, RoutingControl

from api.model import ServingModel
from api.rails.service import RailsService
from api.tasks import cancel
from api.unavailable import UNAVAILABLE, unavailable_reason
from gnn.artifacts import ArtifactError, load_version
from graph.queries import query
from graph.settings import Settings

log = logging.getLogger("graphrails.api.reload")


class ModelReloader:
    """Polls the serving version and swaps it into ``rails``; one per application."""

    def __init__(
        self,
        driver: AsyncDriver,
        rails: RailsService,
        *,
        database: str,
        models_dir: Path,
        interval_s: float,
    ) -> None:
        self.driver = driver
        self.rails = rails
        self.database = database
        self.models_dir = models_dir
        self.interval_s = interval_s
        self.error: str | None = None
        """Why the version Neo4j marks serving is not the one in memory (None: it is)."""
        self._failed: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> bool:
        """One poll: swap in the serving version if it changed; True when it swapped."""
        records, _, _ = await self.driver.execute_query(
            query("models/serving"), database_=self.database, routing_=RoutingControl.READ
        )
        if not records:
            return False  # nothing marked (yet): keep what serves
        version, recorded = str(records[0]["version"]), records[0]["path"]
        current = self.rails.model.version if self.rails.model is not None else None
        if version == current:
            self._failed, self.error = None, None
            return False
        if version == self._failed:
            return False
        path = self.models_dir / version
        if not path.is_dir() and recorded:
            path = Path(recorded)  # the same volume may be mounted elsewhere
        try:
            model = await asyncio.to_thread(_load, path)
        except (ArtifactError, OSError, ValueError) as e:
            self._failed = version
            self.error = f"version {version} failed to load: {e}"
            log.error("%s; still serving %s", self.error, current)
            return False
        self.rails.swap_model(model)
        self._failed, self.error = None, None
        log.info("now serving model version %s (was %s)", version, current)
        return True

    async def poll(self) -> None:
        """One :meth:`check`; a failure is logged (Neo4j away: one line, no traceback) and
        what serves stays."""
        try:
            await self.check()
        except UNAVAILABLE as e:
            log.warning("could not check the serving model version: %s", unavailable_reason(e))
        except Exception:
            log.warning("could not check the serving model version", exc_info=True)

    async def run(self) -> None:
        """Poll until cancelled; a failed poll is logged and the next one comes as usual."""
        while True:
            await asyncio.sleep(self.interval_s)
            await self.poll()

    @classmethod
    def started(cls, driver: AsyncDriver, rails: RailsService, settings: Settings) -> ModelReloader:
        """A reloader for the settings' database and models directory, already polling."""
        reloader = cls(
            driver, rails, database=settings.neo4j_database,
            models_dir=settings.models_dir, interval_s=settings.model_poll_s,
        )  # fmt: skip
        reloader.start()
        return reloader

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="graphrails-model-reloader")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None


def _load(path: Path) -> ServingModel:
    return ServingModel.from_version(load_version(path))
