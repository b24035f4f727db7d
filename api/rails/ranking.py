"""The ranking stage at serving time: eligible offers ordered by P(complete).

When the serving version has a ranker (:class:`gnn.ranker.Ranker`), the offers of the
sources in :data:`RANKED_SOURCES` are ordered by the probability that the user completes
them, before post-ranking (caps, one episode per series). The features are
:func:`gnn.ranker.ranking_features`, the function training uses, over the rows of the
same statements:

* the user's side (``cypher/rails/ranking_user.part.cypher``: their watches and the
  impressions of the offered programs) comes with the rail's own round trip
  (``home.cypher`` returns it when the version has a ranker, :class:`UserFacts` handed
  in by the caller); only a caller without it pays a round trip
  (``cypher/rails/ranking_facts.cypher``, the statement training reads it with);
* the programs' side (duration, genres, series, windows) is a
  :class:`gnn.ranker.ProgramTable` of every program (``cypher/rails/program_facts.cypher``),
  read again once it is ``GRAPHRAILS_RANKER_PROGRAMS_TTL`` seconds old: a window or a
  genre changed in the graph reaches the features that much later at most (eligibility
  itself is always decided on the graph as it is);
* this week's audience (``cypher/rails/week_audience.cypher``), read once per UTC day.

An offer is featured on the program it offers (for an episode, maybe the user's next
one) with the retrieval score of the candidate that proposed it. When a feature's source
is missing (a program the table does not hold, e.g. one loaded since it was read, a
candidate without a retrieval score), the rail keeps retrieval order and says why
(:attr:`Ranked.fallback`, counted by ``graphrails_ranker_fallbacks``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from neo4j import AsyncDriver, RoutingControl

from api.model import ServingModel
from api.rails.types import Offer, UserContext
from gnn.ranker import (
    DAY_S,
    NONE,
    WEEK_DAYS,
    AudienceTable,
    ProgramTable,
    UserFacts,
    ranking_features,
    user_from_record,
)
from graph.queries import query
from graph.settings import Settings

RANKED_SOURCES = frozenset({"personalised"})
"""Sources whose offers the ranker orders: those scored with the user's LightGCN vector,
the score the ranker was trained with (``similar`` scores programs against an anchor)."""
MISSING_FEATURES = "missing_features"
AUDIENCE_DAYS_CACHED = 3
"""Days whose audience table is kept (a request's ``now`` may be any day)."""


@dataclass(frozen=True)
class Ranked:
    """P(complete) by candidate id, or why the offers keep retrieval order."""

    probabilities: Mapping[str, float] | None
    fallback: str | None = None


class RankingStage:
    """Orders offers by P(complete); holds the program table and the audience tables of
    the last few days."""

    def __init__(self, driver: AsyncDriver, settings: Settings) -> None:
        self.driver = driver
        self.settings = settings
        self._tables: dict[int, AudienceTable] = {}
        self._programs: tuple[float, ProgramTable] | None = None
        self._lock = asyncio.Lock()

    async def rank(
        self,
        ctx: UserContext,
        offers: Sequence[Offer],
        scores: Mapping[str, float | None],
        *,
        now: datetime,
        model: ServingModel,
        user: UserFacts | None = None,
    ) -> Ranked:
        """P(complete) of each of ``offers`` (by candidate id) for the user of ``ctx`` at
        ``now``, with ``model``'s ranker; ``scores``: the candidates' retrieval scores;
        ``user``: the user's side of the features, read with the rail (the impressions
        of every offered program); None: read here, one round trip."""
        ranker = model.ranker
        if ranker is None or not offers:
            return Ranked({} if ranker is not None else None)
        ids = [o.candidate_id for o in offers]
        retrieval = [scores.get(c) for c in ids]
        if None in retrieval:
            return Ranked(None, MISSING_FEATURES)
        programs = await self.programs()
        rows = programs.rows_of([o.program_id for o in offers])
        if (rows == NONE).any():
            return Ranked(None, MISSING_FEATURES)
        if user is None:
            user = await self._user(ctx.user_id or "", [o.program_id for o in offers])
        at = now.timestamp()
        table = await self._table(at)
        features = ranking_features(
            user, programs, rows, retrieval, table.week_before(at), at,
            completion_threshold=self.settings.completion_threshold,
        )  # fmt: skip
        probability = ranker.predict(features)
        return Ranked(dict(zip(ids, probability.tolist(), strict=True)))

    async def programs(self) -> ProgramTable:
        """Every program's facts, read again once ``ranker_programs_ttl_s`` old."""
        ttl = self.settings.ranker_programs_ttl_s
        cached = self._programs
        if cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
        async with self._lock:
            cached = self._programs
            if cached is None or time.monotonic() - cached[0] >= ttl:
                read_at = time.monotonic()  # the age counts from before the read
                records, _, _ = await self.driver.execute_query(
                    query("rails/program_facts"),
                    database_=self.settings.neo4j_database, routing_=RoutingControl.READ,
                )  # fmt: skip
                cached = self._programs = (read_at, ProgramTable.from_records(records))
        return cached[1]

    async def _user(self, user_id: str, program_ids: list[str]) -> UserFacts:
        """The user's side, for a caller whose round trip did not bring it."""
        records, _, _ = await self.driver.execute_query(
            query("rails/ranking_facts"),
            users=[{"user_id": user_id, "program_ids": list(dict.fromkeys(program_ids))}],
            database_=self.settings.neo4j_database,
            routing_=RoutingControl.READ,
        )
        return user_from_record(records[0])

    async def _table(self, at: float) -> AudienceTable:
        """The audience of the week before the day of ``at``, read once per day."""
        day = AudienceTable.day_of(at)
        table = self._tables.get(day)
        if table is not None:
            return table
        async with self._lock:
            table = self._tables.get(day)
            if table is None:
                records, _, _ = await self.driver.execute_query(
                    query("rails/week_audience"),
                    since=datetime.fromtimestamp(day - WEEK_DAYS * DAY_S, UTC),
                    until=datetime.fromtimestamp(day, UTC),
                    database_=self.settings.neo4j_database,
                    routing_=RoutingControl.READ,
                )
                table = AudienceTable.from_records(records)
                stale = len(self._tables) + 1 - AUDIENCE_DAYS_CACHED
                for old in sorted(self._tables)[: max(0, stale)]:
                    del self._tables[old]
                self._tables[day] = table
        return table
