"""The audience lists the popular sources rank from, cached per bundle and hour."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from neo4j import AsyncDriver, RoutingControl

from api.rails.types import Candidates
from graph.queries import query
from graph.settings import Settings

WEEK = timedelta(days=7)
BEST_OF_MIN_WATCHERS = 5
"""Watchers this week a program needs to be ranked by its completion (best of bundle)."""


class Audience:
    """Popularity rows of several bundles merged by program (the first bundle's row wins),
    with the rankings the popular and best-of-bundle sources draw from them."""

    def __init__(self, lists: tuple[list[dict[str, Any]], ...]):
        self.lists = lists
        self.by_program: dict[str, dict[str, Any]] = {}
        for rows in lists:
            for row in rows:
                self.by_program.setdefault(row["program_id"], row)
        self._ranked: dict[bool, Candidates] = {}

    def ranked(self, *, best: bool) -> Candidates:
        """Most watched this week first; with ``best``, most completed this week first,
        among the programs with ``BEST_OF_MIN_WATCHERS`` watchers this week or more.

        The list is shared between requests: callers must not modify it.
        """
        if best not in self._ranked:
            rows = list(self.by_program.values())
            if best:
                rows = [r for r in rows if r["watchers_week"] >= BEST_OF_MIN_WATCHERS
                        and r["completion_week"] is not None]  # fmt: skip
                rows.sort(key=lambda r: (-r["completion_week"], -r["watchers_week"],
                                         r["program_id"]))  # fmt: skip
                self._ranked[best] = [(r["program_id"], float(r["completion_week"]))
                                      for r in rows]  # fmt: skip
            else:
                rows.sort(key=lambda r: (-r["watchers_week"], -r["watchers"], r["program_id"]))
                self._ranked[best] = [(r["program_id"], float(r["watchers_week"])) for r in rows]
        return self._ranked[best]


@dataclass(frozen=True)
class Rankings:
    """The first programs of every bundle's popular (or best-of-bundle) ranking, as
    ``cypher/rails/popular.cypher`` takes them: each bundle's ranking is the ranking of
    all bundles together restricted to the bundle's programs, so its first programs are
    given as positions in one list in that order."""

    ranked: list[str]
    """Every program among a bundle's first ones, in the order of the merged ranking."""
    positions: dict[str, list[int]]
    """Bundle id -> the positions in ``ranked`` of its first programs, ascending."""
    audience: Audience
    """The merged audience of every bundle it was read from (to tell when it is stale)."""


class PopularityCache:
    """Audience lists and bundle ids, each kept ``popularity_ttl_s`` (a TTL cache)."""

    def __init__(self, driver: AsyncDriver, settings: Settings):
        self.driver = driver
        self.settings = settings
        self.db = settings.neo4j_database
        self._popularity: dict[tuple[str | None, int], tuple[float, list[dict[str, Any]]]] = {}
        self._loading: dict[tuple[str | None, int], asyncio.Lock] = {}
        self._audiences: dict[tuple[str | None, ...], Audience] = {}
        self._rankings: dict[tuple[bool, int], Rankings] = {}
        self._offered: tuple[float, dict[str, frozenset[str]] | None] = (0.0, None)
        self._offered_lock = asyncio.Lock()

    async def bundles(self) -> set[str]:
        """Ids of every bundle (cached like popularity)."""
        key = ("__bundles__", 0)
        cached = self._popularity.get(key)
        if cached and time.monotonic() - cached[0] < self.settings.popularity_ttl_s:
            return {r["bundle_id"] for r in cached[1]}
        records, _, _ = await self.driver.execute_query(
            query("rails/bundles"), database_=self.db, routing_=RoutingControl.READ
        )
        rows = [r.data() for r in records]
        self._popularity[key] = (time.monotonic(), rows)
        return {r["bundle_id"] for r in rows}

    def merged(
        self, bundles: Sequence[str | None], lists: tuple[list[dict[str, Any]], ...]
    ) -> Audience:
        """The popularity ``lists`` of ``bundles`` merged by program, cached while they are.

        Merging and sorting thousands of rows cost more than the rest of a request, and
        they only change when one of the cached lists is refreshed.
        """
        key = tuple(bundles)
        cached = self._audiences.get(key)
        if cached is not None and all(a is b for a, b in zip(cached.lists, lists, strict=True)):
            return cached
        merged = Audience(lists)
        self._audiences[key] = merged
        return merged

    async def rankings(self, now: datetime, *, best: bool, first: int) -> Rankings:
        """The first ``first`` programs of every bundle's ranking (best of bundle's with
        ``best``), built again only when one of the bundles' cached lists is refreshed."""
        bundles = sorted(await self.bundles())
        lists = tuple([await self.popularity(b, now) for b in bundles])
        everything = self.merged(bundles, lists)
        key = (best, first)
        cached = self._rankings.get(key)
        if cached is not None and cached.audience is everything:
            return cached
        order = {p: i for i, (p, _) in enumerate(everything.ranked(best=best))}
        tops = {b: [p for p, _ in self.merged([b], (rows,)).ranked(best=best)[:first]]
                for b, rows in zip(bundles, lists, strict=True)}  # fmt: skip
        ranked = sorted({p for top in tops.values() for p in top}, key=order.__getitem__)
        index = {p: i for i, p in enumerate(ranked)}
        positions = {b: [index[p] for p in top] for b, top in tops.items()}
        self._rankings[key] = Rankings(ranked, positions, everything)
        return self._rankings[key]

    async def popularity(self, bundle_id: str | None, now: datetime) -> list[dict[str, Any]]:
        """Audience of the programs of a bundle (None: the whole catalogue), cached.

        The catalogue's list is read once an hour; a bundle's is its rows of the programs
        offered on the bundle's channels, in the same order: one pass over the watches an
        hour, however many bundles are asked for."""
        hour = int(now.timestamp()) // 3600
        key = (bundle_id, hour)
        cached = self._fresh_popularity(key)
        if cached is not None:
            return cached
        # One query per list, however many requests find it missing at once.
        async with self._loading.setdefault(key, asyncio.Lock()):
            cached = self._fresh_popularity(key)
            if cached is not None:
                return cached
            if bundle_id is not None:
                catalogue = await self.popularity(None, now)
                offered = (await self._bundle_programs()).get(bundle_id, frozenset())
                rows = [r for r in catalogue if r["program_id"] in offered]
            else:
                end = datetime.fromtimestamp((hour + 1) * 3600, UTC)
                records, _, _ = await self.driver.execute_query(
                    # "This week" ends with the hour of now: one list serves the whole
                    # hour, whichever request fills it, and never counts a later watch.
                    query("rails/catalogue_popularity"), since=end - WEEK, until=end,
                    database_=self.db, routing_=RoutingControl.READ,
                )  # fmt: skip
                rows = [r.data() for r in records]
            self._forget_expired()
            self._popularity[key] = (time.monotonic(), rows)
        return rows

    async def _bundle_programs(self) -> dict[str, frozenset[str]]:
        """The programs offered on each bundle's channels (cached like popularity)."""
        async with self._offered_lock:  # bundles filled at once read it once
            at, offered = self._offered
            if offered is None or time.monotonic() - at >= self.settings.popularity_ttl_s:
                records, _, _ = await self.driver.execute_query(
                    query("rails/bundle_programs"), database_=self.db,
                    routing_=RoutingControl.READ,
                )  # fmt: skip
                offered = {str(r["bundle_id"]): frozenset(r["program_ids"]) for r in records}
                self._offered = (time.monotonic(), offered)
        return offered

    def _forget_expired(self) -> None:
        """Drop expired lists (each hour of ``now`` has its own), so the cache stays bounded."""
        limit = time.monotonic() - self.settings.popularity_ttl_s
        for key in [k for k, (at, _) in self._popularity.items() if at < limit]:
            del self._popularity[key]
            lock = self._loading.get(key)
            if lock is not None and not lock.locked():
                del self._loading[key]

    def _fresh_popularity(self, key: tuple[str | None, int]) -> list[dict[str, Any]] | None:
        cached = self._popularity.get(key)
        if cached and time.monotonic() - cached[0] < self.settings.popularity_ttl_s:
            return cached[1]
        return None
