"""Build the FastAPI application: ``create_app()`` wires settings, lifespan and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.routes import health
from graph.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new application; nothing connects until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from graph.driver import open_async_driver

        app.state.settings = settings or Settings()
        app.state.driver = open_async_driver(app.state.settings)
        try:
            yield
        finally:
            await app.state.driver.close()

    app = FastAPI(
        title="graphrails",
        summary="Recommendation rails for TV streaming, explained from the graph.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    return app
