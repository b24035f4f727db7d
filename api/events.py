"""Writing a batch of events to Neo4j at once, idempotent by event id.

One write transaction per batch: it checks which programs, channels and genres
the events name, creates the users the graph does not know, then folds

* ``watch`` events into ``WATCHED`` with the file loader's own statement
  (``cypher/load/watch_events.cypher``, rows grouped by
  :func:`graph.domain.group_event_records`): one rule for files and the API;
* ``skip`` events into ``SKIPPED`` (``cypher/events/skips.cypher``);
* ``dislike`` (a program blacklist), ``blacklist`` and ``unblacklist`` events
  into ``BLACKLISTED`` / ``UNBLACKLISTED``, in rounds that hold each (user,
  target) at most once; the latest action by ``ts`` wins, so an event synced
  late that an earlier-arrived, newer one supersedes changes nothing but is
  still recorded (equal ``ts``: the order they came).

An event naming an unknown program, channel or genre is rejected alone (the
others are written); so is a second event with an id seen earlier in the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver, AsyncManagedTransaction

from api.schemas import BlacklistEvent, DislikeEvent, Event, SkipEvent, WatchEvent
from graph.domain import BLACKLIST_TARGETS, group_event_records
from graph.queries import query


@dataclass
class Rejected:
    index: int
    event_id: str
    field: str
    reason: str


@dataclass
class EventReport:
    received: int
    applied: int = 0
    already_applied: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    created_users: list[str] = field(default_factory=list)


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


def _references(event: Event) -> list[tuple[str, str, str]]:
    """(field, target type, id) of every id the event names besides the user."""
    if isinstance(event, WatchEvent):
        return [("program_id", "program", event.program_id),
                ("channel_id", "channel", event.channel_id)]  # fmt: skip
    if isinstance(event, SkipEvent):
        refs = [("program_id", "program", event.program_id)]
        return refs + ([("channel_id", "channel", event.channel_id)] if event.channel_id else [])
    if isinstance(event, DislikeEvent):
        return [("program_id", "program", event.program_id)]
    return [("target_id", event.target_type, event.target_id)]


def _duplicates(events: Sequence[Event]) -> list[Rejected]:
    first: dict[str, int] = {}
    out = []
    for i, e in enumerate(events):
        if e.event_id in first:
            reason = f"duplicate_id: already at index {first[e.event_id]} of this batch"
            out.append(Rejected(i, e.event_id, "event_id", reason))
        else:
            first[e.event_id] = i
    return out


class EventWriter:
    """Writes event batches; stateless apart from the driver."""

    def __init__(self, driver: AsyncDriver, *, database: str):
        self.driver = driver
        self.db = database

    async def write(self, events: Sequence[Event]) -> EventReport:
        """Write the valid events of ``events`` in one transaction; report the rest."""
        async with self.driver.session(database=self.db) as session:
            report: EventReport = await session.execute_write(self._work, list(events))
        return report

    async def _work(self, tx: AsyncManagedTransaction, events: list[Event]) -> EventReport:
        # A retried transaction starts again from here, with nothing of the failed try.
        report = EventReport(received=len(events), rejected=_duplicates(events))
        skip = {r.index for r in report.rejected}
        named: dict[str, set[str]] = {t: set() for t in BLACKLIST_TARGETS}
        for i, e in enumerate(events):
            if i not in skip:
                for _, target, value in _references(e):
                    named[target].add(value)
        result = await tx.run(
            query("events/known_ids"), program_ids=sorted(named["program"]),
            channel_ids=sorted(named["channel"]), genre_ids=sorted(named["genre"]),
        )  # fmt: skip
        row = await result.single(strict=True)
        known = {"program": set(row["programs"]), "channel": set(row["channels"]),
                 "genre": set(row["genres"])}  # fmt: skip
        valid: list[Event] = []
        for i, e in enumerate(events):
            if i in skip:
                continue
            bad = [(f, t, v) for f, t, v in _references(e) if v not in known[t]]
            report.rejected += [
                Rejected(i, e.event_id, f, f"unknown_reference: {t} '{v}' does not exist")
                for f, t, v in bad
            ]
            if not bad:
                valid.append(e)
        report.rejected.sort(key=lambda r: r.index)
        if not valid:
            return report

        result = await tx.run(query("events/users"), user_ids=sorted({e.user_id for e in valid}))
        report.created_users = sorted((await result.single(strict=True))["created"])

        watches = [_watch_record(e) for e in valid if isinstance(e, WatchEvent)]
        skips = [e for e in valid if isinstance(e, SkipEvent)]
        applied = await _applied(tx, "load/watch_events", rows=group_event_records(watches))
        applied += await _applied(tx, "events/skips", rows=_skip_rows(skips))
        lists = [e for e in valid if isinstance(e, DislikeEvent | BlacklistEvent)]
        for round_ in _rounds(lists):
            for statement, kind in (("events/blacklist", True), ("events/unblacklist", False)):
                rows = [r for r, blacklist in round_ if blacklist is kind]
                applied += await _applied(tx, statement, rows=rows)
        report.applied = applied
        report.already_applied = len(valid) - applied
        return report


def _watch_record(e: WatchEvent) -> dict[str, Any]:
    return {"user_id": e.user_id, "program_id": e.program_id, "event_id": e.event_id,
            "ts": _utc(e.ts), "watched_s": e.watched_s, "completion": e.completion,
            "channel_id": e.channel_id}  # fmt: skip


def _skip_rows(skips: list[SkipEvent]) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in skips:
        event = {"event_id": e.event_id, "ts": _utc(e.ts), "channel_id": e.channel_id}
        grouped.setdefault((e.user_id, e.program_id), []).append(event)
    return [{"user_id": u, "program_id": p, "events": ev} for (u, p), ev in grouped.items()]


def _rounds(
    events: list[DislikeEvent | BlacklistEvent],
) -> list[list[tuple[dict[str, Any], bool]]]:
    """The events as rows in rounds: round k holds the k-th event of each (user, target),
    so no statement sees one pair twice and each pair's events apply in their order."""
    rounds: list[list[tuple[dict[str, Any], bool]]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for e in events:
        if isinstance(e, DislikeEvent):
            target_type, target_id, blacklist = "program", e.program_id, True
        else:
            target_type, target_id, blacklist = e.target_type, e.target_id, e.type == "blacklist"
        key = (e.user_id, target_type, target_id)
        k = seen.get(key, 0)
        seen[key] = k + 1
        if k == len(rounds):
            rounds.append([])
        row = {"user_id": e.user_id, "target_type": target_type, "target_id": target_id,
               "event_id": e.event_id, "ts": _utc(e.ts)}  # fmt: skip
        rounds[k].append((row, blacklist))
    return rounds


async def _applied(tx: AsyncManagedTransaction, statement: str, *, rows: list[Any]) -> int:
    if not rows:
        return 0
    result = await tx.run(query(statement), rows=rows)
    record = await result.single(strict=True)
    return int(record["applied"] or 0)
