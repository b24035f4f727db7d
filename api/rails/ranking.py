"""The ranking stage at serving time: eligible offers ordered by P(complete).

When the serving version has a ranker (:class:`gnn.ranker.Ranker`), the offers of the
sources in :data:`RANKED_SOURCES` are ordered by the probability that the user completes
them, before post-ranking (caps, one episode per series). The features are
:func:`gnn.ranker.ranking_features`, the function training uses, over the rows of the
same statements: ``cypher/rails/ranking_facts.cypher`` (one round trip per rail, for the
offered programs) and ``cypher/rails/week_audience.cypher`` (once per UTC day, cached).

An offer is featured on the program it offers (for an episode, maybe the user's next
one) with the retrieval score of the candidate that proposed it. When a feature's source
is missing (a program the facts statement does not find, a candidate without a
retrieval score), the rail keeps retrieval order and says why (:attr:`Ranked.fallback`,
counted by ``graphrails_ranker_fallbacks``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from neo4j import AsyncDriver, RoutingControl

from api.model import ServingModel
from api.rails.types import Offer, UserContext
from gnn.ranker import DAY_S, WEEK_DAYS, AudienceTable, facts_from_record, ranking_features
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
    """Orders offers by P(complete); holds the audience tables of the last few days."""

    def __init__(self, driver: AsyncDriver, settings: Settings) -> None:
        self.driver = driver
        self.settings = settings
        self._tables: dict[int, AudienceTable] = {}
        self._lock = asyncio.Lock()

    async def rank(
        self,
        ctx: UserContext,
        offers: Sequence[Offer],
        scores: Mapping[str, float | None],
        *,
        now: datetime,
        model: ServingModel,
    ) -> Ranked:
        """P(complete) of each of ``offers`` (by candidate id) for the user of ``ctx`` at
        ``now``, with ``model``'s ranker; ``scores``: the candidates' retrieval scores."""
        ranker = model.ranker
        if ranker is None or not offers:
            return Ranked({} if ranker is not None else None)
        program_ids = list(dict.fromkeys(o.program_id for o in offers))
        records, _, _ = await self.driver.execute_query(
            query("rails/ranking_facts"),
            users=[{"user_id": ctx.user_id or "", "program_ids": program_ids}],
            database_=self.settings.neo4j_database,
            routing_=RoutingControl.READ,
        )
        if not records:
            return Ranked(None, MISSING_FEATURES)
        user, candidates = facts_from_record(records[0])
        by_id = {c.program_id: c for c in candidates}
        retrieval = [scores.get(o.candidate_id) for o in offers]
        if any(o.program_id not in by_id for o in offers) or any(s is None for s in retrieval):
            return Ranked(None, MISSING_FEATURES)
        at = now.timestamp()
        table = await self._table(at)
        features = ranking_features(
            user, [by_id[o.program_id] for o in offers], retrieval, table.week_before(at), at,
            completion_threshold=self.settings.completion_threshold,
        )  # fmt: skip
        probability = ranker.predict(features)
        return Ranked({o.candidate_id: float(p) for o, p in zip(offers, probability, strict=True)})

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
