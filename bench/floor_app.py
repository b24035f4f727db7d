"""The app ``bench/floor.py`` loads: the API's HTTP stack with (almost) nothing behind it.

Served by uvicorn as ``bench.floor_app:create_floor_app``; see ``bench/floor.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from neo4j import AsyncDriver, RoutingControl

from api.main import RequestId, settle_garbage_collector
from graph.driver import open_async_driver
from graph.settings import Settings


def _canned_rail() -> dict[str, Any]:
    """A body shaped like a 20-item home rail (the fields of ``api.schemas.Rail``)."""
    items = [
        {
            "program_id": f"p{i:07d}",
            "title": f"Programme {i}",
            "kind": "film",
            "genres": ["drame", "policier"],
            "csa": "-12",
            "channel_id": "c007",
            "bundle_id": "b01",
            "availability": "replay",
            "score": 0.5 - i / 100,
            "source": "personalised",
            "backfill": False,
            "explanation": {
                "type": "you_like_genre",
                "text": "You like drame (31% of your watch time)",
                "evidence": {"genre_id": "drame", "share": 0.31},
            },
        }
        for i in range(20)
    ]
    return {"rail": "home", "user_id": "", "model_version": "floor", "items": items,
            "sources": ["personalised"], "empty_reason": None}  # fmt: skip


async def return_one(driver: AsyncDriver, database: str) -> None:
    """One round trip that does no work: ``RETURN 1`` as the API sends its reads."""
    await driver.execute_query("RETURN 1 AS one", database_=database, routing_=RoutingControl.READ)


def create_floor_app() -> FastAPI:
    """``/floor/{round_trips}/{user_id}``: ``round_trips`` times ``RETURN 1``, then a canned
    rail; the API's request-id middleware and async driver, nothing else."""
    settings = Settings()
    body = _canned_rail()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.driver = open_async_driver(settings)
        settle_garbage_collector()  # as the API does once it has started
        try:
            yield
        finally:
            await app.state.driver.close()

    app = FastAPI(lifespan=lifespan)
    app.add_middleware(RequestId)

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        await app.state.driver.verify_connectivity()
        return {"model_version": "floor"}

    @app.get("/floor/{round_trips}/{user_id}")
    async def floor(round_trips: int, user_id: str) -> dict[str, Any]:
        for _ in range(round_trips):
            await return_one(app.state.driver, settings.neo4j_database)
        return {**body, "user_id": user_id}

    return app
