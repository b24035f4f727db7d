"""Prometheus metrics of the API, in a registry of each application's own.

Every metric is named ``graphrails_*``; ``GET /metrics`` exposes them
(:mod:`api.routes.metrics`). Labels are bounded: a request is labelled with its
route *template* (``/v1/users/{user_id}/rails/home``, never the raw path) and its
status class, a rail with its name and source.

What is counted where:

- request latency: :class:`RequestMetrics`, a plain ASGI middleware around the app;
- rail sizes, items served and backfilled, empty rails, items in the ranker's order and
  rails that fell back to retrieval order: :meth:`Metrics.observe_rail`, called by the
  rail routes;
- eligibility (candidates asked, offers returned): read from each rail served
  (:attr:`api.rails.types.Rail.eligibility`) by :meth:`Metrics.observe_rail`;
- the model version: read from ``app.state.rails.model`` at every scrape;
- the served log: queue size read at every scrape, writes, drops and flush errors
  counted by :class:`api.served.ServedLog`;
- rail requests waiting for a turn and being computed: read from ``app.state.rails``
  at every scrape (:meth:`api.rails.service.RailsService.turn`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.rails.types import Rail

UNMATCHED = "<unmatched>"
"""Route label of a request no route matched (404s on arbitrary paths stay one series)."""
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RAIL_SIZE_BUCKETS = (0, 1, 5, 10, 15, 20, 30, 50, 100)


class Metrics:
    """The metrics of one application.

    Args:
        model_version (callable): returns the serving model version (None: no model),
            called at every scrape so a hot swap shows at once.
        served_queue (callable): returns how many served rails wait to be written.
        turns (callable): returns how many rail requests wait for a turn and how many are
            being computed.
    """

    def __init__(
        self,
        *,
        model_version: Callable[[], str | None],
        served_queue: Callable[[], int],
        turns: Callable[[], tuple[int, int]],
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.request_seconds = Histogram(
            "graphrails_http_request_duration_seconds",
            "Time to answer a request, by route template and status class (2xx, 4xx, ...).",
            ["route", "status"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.rail_size = Histogram(
            "graphrails_rail_size", "Items in each rail served, by rail.",
            ["rail"], buckets=RAIL_SIZE_BUCKETS, registry=r,
        )  # fmt: skip
        self.rail_items = Counter(
            "graphrails_rail_items", "Items served, by rail and by the source that proposed them.",
            ["rail", "source"], registry=r,
        )  # fmt: skip
        self.rail_backfill_items = Counter(
            "graphrails_rail_backfill_items",
            "Items served as backfill (the rail's first source ran short), by rail and source.",
            ["rail", "source"], registry=r,
        )  # fmt: skip
        self.rail_empty = Counter(
            "graphrails_rail_empty", "Rails served with no item, by rail.", ["rail"], registry=r
        )
        self.ranked_items = Counter(
            "graphrails_ranked_items",
            "Items served in the ranker's P(complete) order (score_kind p_complete), by rail.",
            ["rail"], registry=r,
        )  # fmt: skip
        self.ranker_fallbacks = Counter(
            "graphrails_ranker_fallbacks",
            "Rails whose offers kept retrieval order though the serving version has a ranker, "
            "by rail and reason (missing_features).",
            ["rail", "reason"], registry=r,
        )  # fmt: skip
        self.eligibility_candidates = Counter(
            "graphrails_eligibility_candidates",
            "Candidate programs whose eligibility the rails asked Neo4j for.", registry=r,
        )  # fmt: skip
        self.eligibility_offers = Counter(
            "graphrails_eligibility_offers",
            "Offers eligibility returned for those candidates (the rest were rejected).",
            registry=r,
        )  # fmt: skip
        self.served_log_written = Counter(
            "graphrails_served_log_written_rails", "Served rails written to Neo4j.", registry=r
        )
        self.served_log_dropped = Counter(
            "graphrails_served_log_dropped_rails",
            "Served rails never written: reason=full (queue full) or error (write failed).",
            ["reason"], registry=r,
        )  # fmt: skip
        self.served_log_flush_errors = Counter(
            "graphrails_served_log_flush_errors",
            "Writes (or prunes) of the served log that Neo4j refused or could not take.",
            registry=r,
        )  # fmt: skip
        self.neo4j_unavailable = Counter(
            "graphrails_neo4j_unavailable",
            "Requests answered 503 because Neo4j could not answer, by the driver's error.",
            ["error"], registry=r,
        )  # fmt: skip
        queued = Gauge(
            "graphrails_served_log_queue", "Served rails waiting to be written.", registry=r
        )
        queued.set_function(lambda: float(served_queue()))
        waiting = Gauge(
            "graphrails_rails_waiting",
            "Rail requests waiting for a turn (GRAPHRAILS_MAX_CONCURRENT_RAILS).", registry=r,
        )  # fmt: skip
        waiting.set_function(lambda: float(turns()[0]))
        in_flight = Gauge("graphrails_rails_in_flight", "Rail requests being computed.", registry=r)
        in_flight.set_function(lambda: float(turns()[1]))
        r.register(_ModelInfo(model_version))
        # Children by label values: ``labels()`` takes a lock and validates on every call.
        self._latency: dict[tuple[str, str], Any] = {}

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        key = (route, f"{status // 100}xx")
        child = self._latency.get(key)
        if child is None:
            child = self._latency[key] = self.request_seconds.labels(*key)
        child.observe(seconds)

    def observe_rail(self, rail: Rail) -> None:
        """Count one rail the API is about to return, and the eligibility it cost."""
        self.eligibility_candidates.inc(rail.eligibility.asked)
        self.eligibility_offers.inc(rail.eligibility.offered)
        self.rail_size.labels(rail.rail).observe(len(rail.items))
        if rail.ranker_fallback is not None:
            self.ranker_fallbacks.labels(rail.rail, rail.ranker_fallback).inc()
        ranked = sum(1 for item in rail.items if item.score_kind == "p_complete")
        if ranked:
            self.ranked_items.labels(rail.rail).inc(ranked)
        if not rail.items:
            self.rail_empty.labels(rail.rail).inc()
            return
        served: dict[str, int] = {}
        backfill: dict[str, int] = {}
        for item in rail.items:
            served[item.source] = served.get(item.source, 0) + 1
            if item.backfill:
                backfill[item.source] = backfill.get(item.source, 0) + 1
        for source, n in served.items():
            self.rail_items.labels(rail.rail, source).inc(n)
        for source, n in backfill.items():
            self.rail_backfill_items.labels(rail.rail, source).inc(n)


class _ModelInfo(Collector):
    """``graphrails_model_info{version="..."} 1``; ``{version=""} 0`` while no model serves."""

    def __init__(self, version: Callable[[], str | None]) -> None:
        self._version = version

    def collect(self) -> Iterator[Metric]:
        version = self._version()
        info = GaugeMetricFamily(
            "graphrails_model_info", "The model version the rails are served from.",
            labels=["version"],
        )  # fmt: skip
        info.add_metric([version or ""], 1.0 if version else 0.0)
        yield info


class RequestMetrics:
    """ASGI middleware: times every HTTP request by route template and status class."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root_path = scope.get("root_path", "")
        start = time.perf_counter()
        status = 500  # an exception before the response starts is answered with a 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - start
            self.metrics.observe_request(route_template(scope, root_path), status, seconds)


def route_template(scope: Scope, root_path: str) -> str:
    """The template of the route that answered (the router writes it into the scope it was
    handed); a mount (static files) as ``<mount>/{path}``; else :data:`UNMATCHED`."""
    path: str | None = getattr(scope.get("route"), "path", None)
    if path:
        return path
    mounted = scope.get("root_path", "")
    if mounted != root_path:
        return f"{mounted[len(root_path) :]}/{{path}}"
    return UNMATCHED


def install_metrics(app: FastAPI) -> Metrics:
    """Give ``app`` its metrics (``app.state.metrics``) and the middleware that times it.

    The model version and the served-log queue are read from ``app.state`` when scraped.
    """

    def model_version() -> str | None:
        rails = getattr(app.state, "rails", None)
        model = getattr(rails, "model", None)
        return getattr(model, "version", None)

    def served_queue() -> int:
        log = getattr(app.state, "served_log", None)
        return log.queued() if log is not None else 0

    def turns() -> tuple[int, int]:
        rails = getattr(app.state, "rails", None)
        return (getattr(rails, "waiting", 0), getattr(rails, "in_flight", 0))

    metrics = Metrics(model_version=model_version, served_queue=served_queue, turns=turns)
    app.state.metrics = metrics
    app.add_middleware(RequestMetrics, metrics=metrics)
    return metrics
