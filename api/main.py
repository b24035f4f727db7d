"""Build the FastAPI application: ``create_app()`` wires settings, lifespan and routers."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import api_keys, read_keys
from api.metrics import install_metrics
from api.routes import demo, explain, health, rails
from api.routes import events as events_routes
from api.routes import metrics as metrics_routes
from api.tasks import cancel
from api.unavailable import bolt_accepts, install_unavailable_handler, watch_stuck
from graph.settings import Settings

log = logging.getLogger("graphrails.api")


MAX_REQUEST_ID_LENGTH = 128
_REQUEST_ID = re.compile(rf"[!-~]{{1,{MAX_REQUEST_ID_LENGTH}}}")
"""A caller's ``X-Request-ID`` kept as is: 1 to 128 visible ASCII characters. The served
log stores it for every rail, so an anonymous caller must not choose its size."""


class RequestId:
    """ASGI middleware: every response carries ``X-Request-ID``, the caller's own (when it
    is 1 to 128 visible ASCII characters) or a new one, and ``request.state.request_id``
    holds it (the served log records it). Plain ASGI, not ``@app.middleware``: that runs
    each request's app in a task of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id")
        rid = given if given is not None and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        await self.app(scope, receive, send_with_id)


GC_GEN0_THRESHOLD = 20_000
"""Allocations between two young collections of the cyclic GC (Python's default: 700)."""


def settle_garbage_collector() -> None:
    """Once start-up has built what the process keeps (model, id maps, routes), take it out
    of the cyclic garbage collector's sight (``gc.freeze``) and collect the young
    generation less often. A full collection otherwise walks all of it while every
    request in flight waits; reference counting still frees what is dropped later (an
    old model after a hot swap). Measured in docs/benchmarks.md ("The garbage collector")."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new application; nothing connects until the lifespan starts. Settings are read
    here (default: the environment): they say which routes exist (the demo pages)."""
    s = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from api.experiments import ExperimentArms
        from api.model import load_serving_model
        from api.rails.service import RailsService
        from api.reload import ModelReloader
        from api.served import open_served_log
        from graph.driver import open_async_driver
        from graph.schema import init_schema_async

        app.state.api_keys = api_keys(s)  # POST /v1/events; a key too short stops the start
        app.state.read_keys = read_keys(s)  # the rails, explain and demo routes
        driver = open_async_driver(s)
        # GETs stuck on a Neo4j that is stopping are answered 503 (api/unavailable.py).
        stuck_watch = asyncio.create_task(
            watch_stuck(app.state.in_flight, functools.partial(bolt_accepts, s.uri))
        )
        try:
            # A graph loaded by an older graphrails may lack a constraint added since (the
            # served log's `served_id`: without it each write scans every Served node).
            await init_schema_async(driver, database=s.neo4j_database)
            model = await load_serving_model(
                driver, database=s.neo4j_database, models_dir=s.models_dir
            )
            if model is None:
                log.warning("no model version found: rails are non-personalised until one exists")
            app.state.settings = s
            app.state.driver = driver
            app.state.rails = RailsService(driver, s, model)
            app.state.reloader = ModelReloader.started(driver, app.state.rails, s)  # hot swap
            app.state.experiments = await ExperimentArms.started(driver, s)
            async with open_served_log(driver, s, metrics=app.state.metrics) as served_log:
                app.state.served_log = served_log
                settle_garbage_collector()
                yield
        finally:
            if reloader := getattr(app.state, "reloader", None):
                await reloader.stop()
            if arms := getattr(app.state, "experiments", None):
                await arms.stop()
            if service := getattr(app.state, "rails", None):
                await service.admission.close()
                await service.refresher.stop()  # the candidate lists scored meanwhile
            await cancel(stuck_watch)
            await driver.close()
            gc.unfreeze()  # a process that goes on (tests, an embedding server) frees it all

    app = FastAPI(
        title="graphrails",
        summary="Recommendation rails for TV streaming, explained from the graph.",
        version="0.1.0",
        lifespan=lifespan,
    )

    install_unavailable_handler(app)  # its middleware innermost
    app.add_middleware(RequestId)
    install_metrics(app)  # outermost: its latency covers the other middleware
    app.include_router(metrics_routes.router)
    app.include_router(health.router)
    app.include_router(rails.router)
    app.include_router(explain.router)
    if s.demo_pages:  # they list users and their graph: off unless asked for
        app.include_router(demo.router)
    app.include_router(events_routes.router)
    return app
