"""The closed loop: simulated users ask the real API for rails and post what they watched.

Time advances hour by hour from ``start``. In each simulated hour, every user with
a session then asks ``GET /v1/users/{id}/rails/home?now=...`` (sessions of one hour
run concurrently, at most ``concurrency`` at once), picks and watches as
:mod:`sim.users` says, and the hour's events are posted to ``POST /v1/events``
once every session of the hour has its rail. So a rail never sees an event of its
own hour and always sees those of the hours before: with a seed and a starting
graph, the rails, the picks and the events are the same from run to run, whatever
the order the concurrent requests are answered in.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np
from tqdm import tqdm

from sim.users import SKIP_BELOW, Catalogue, Truth, pick, session_hours

MAX_EVENTS = 1000
"""Events per POST /v1/events (the API's limit)."""


@dataclass(frozen=True)
class Session:
    user: int
    """Index of the user in the truth file."""
    number: int
    """The user's session count so far (seeds its draws)."""
    at: datetime


@dataclass
class Summary:
    """What a simulation did."""

    users: int = 0
    days: int = 0
    sessions: int = 0
    plays: int = 0
    completed: int = 0
    skips: int = 0
    empty_rails: int = 0
    events_applied: int = 0
    events_rejected: int = 0
    retries: int = 0
    """Requests answered 503 and sent again (see :data:`RETRIES`)."""
    seconds: float = 0.0
    arms: Counter[str] = field(default_factory=Counter)

    @property
    def sessions_per_s(self) -> float:
        return self.sessions / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        arms = ", ".join(f"{a} {n:,}" for a, n in sorted(self.arms.items())) or "none"
        return (
            f"{self.sessions:,} sessions of {self.users:,} users over {self.days} days in "
            f"{self.seconds:.0f} s ({self.sessions_per_s:.1f} sessions/s): {self.plays:,} "
            f"plays ({self.completed:,} completed), {self.skips:,} skips, "
            f"{self.empty_rails:,} empty rails; events applied {self.events_applied:,}, "
            f"rejected {self.events_rejected:,}; {self.retries:,} requests retried after a 503; "
            f"sessions by arm: {arms}"
        )


def schedule(
    users: list[int], *, days: int, start: datetime, seed: int
) -> dict[int, list[Session]]:
    """Every session of ``users`` (indices into the truth file), by hour from ``start``."""
    by_hour: dict[int, list[Session]] = {}
    for u in users:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, u)))
        for number, (day, hour) in enumerate(session_hours(days, rng)):
            minute = int(rng.integers(0, 60))
            tick = day * 24 + hour
            at = start + timedelta(hours=tick, minutes=minute)
            by_hour.setdefault(tick, []).append(Session(u, number, at))
    return by_hour


def choose_users(truth: Truth, n: int, *, seed: int) -> list[int]:
    """``n`` users of the truth file, drawn without replacement by ``seed``."""
    if not 0 < n <= len(truth.user_ids):
        raise ValueError(f"--users must be within 1..{len(truth.user_ids)}, got {n}")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    return sorted(rng.choice(len(truth.user_ids), size=n, replace=False).tolist())


async def simulate(
    client: httpx.AsyncClient,
    truth: Truth,
    catalogue: Catalogue,
    *,
    users: list[int],
    days: int,
    start: datetime,
    seed: int,
    tag: str,
    limit: int = 20,
    concurrency: int = 8,
    completed_at: float = 0.9,
    progress: bool = True,
) -> Summary:
    """Run the loop against the API ``client`` talks to (its base URL, its key)."""
    plan = schedule(users, days=days, start=start, seed=seed)
    summary = Summary(users=len(users), days=days)
    turns = asyncio.Semaphore(concurrency)
    began = time.perf_counter()
    total = sum(len(s) for s in plan.values())
    with tqdm(total=total, unit="session", desc="simulate", disable=not progress) as bar:
        for tick in sorted(plan):
            sessions = plan[tick]

            async def one(s: Session) -> list[dict[str, Any]]:
                async with turns:
                    events = await _session(client, truth, catalogue, s, seed=seed, tag=tag,
                                            limit=limit, summary=summary,
                                            completed_at=completed_at)  # fmt: skip
                bar.update(1)
                return events

            done = await asyncio.gather(*(one(s) for s in sessions))
            events = [e for found in done for e in found]
            for first in range(0, len(events), MAX_EVENTS):
                await _post(client, events[first : first + MAX_EVENTS], summary)
    summary.sessions = total
    summary.seconds = time.perf_counter() - began
    return summary


async def _session(
    client: httpx.AsyncClient,
    truth: Truth,
    catalogue: Catalogue,
    s: Session,
    *,
    seed: int,
    tag: str,
    limit: int,
    summary: Summary,
    completed_at: float,
) -> list[dict[str, Any]]:
    user_id = truth.user_ids[s.user]
    response = await _retrying(summary, lambda: client.get(
        f"/v1/users/{user_id}/rails/home",
        params={"now": s.at.isoformat().replace("+00:00", "Z"), "limit": limit},
    ))  # fmt: skip
    if response.status_code != 200:
        raise RuntimeError(
            f"GET {response.url} answered {response.status_code}: {response.text[:300]}"
        )
    rail = response.json()
    summary.arms[rail.get("arm") or "none"] += 1
    if not rail["items"]:
        summary.empty_rails += 1
    # The session's own stream: its draws do not depend on what earlier rails held.
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, s.user, s.number)))
    events: list[dict[str, Any]] = []
    ts = s.at
    for k, (item, done) in enumerate(pick(rail["items"], truth.taste[s.user], catalogue, rng)):
        ts = ts + timedelta(seconds=30)
        event_id = f"sim-{tag}-{user_id}-{s.number}-{k}"
        channel = item.get("channel_id")
        if done < SKIP_BELOW or channel is None:
            summary.skips += 1
            events.append({"type": "skip", "event_id": event_id, "user_id": user_id,
                           "program_id": item["program_id"], "channel_id": channel,
                           "ts": ts.isoformat()})  # fmt: skip
            continue
        duration = catalogue.duration_s.get(item["program_id"], 3600)
        summary.plays += 1
        summary.completed += done >= completed_at
        events.append({"type": "watch", "event_id": event_id, "user_id": user_id,
                       "program_id": item["program_id"], "channel_id": channel,
                       "ts": ts.isoformat(), "watched_s": round(done * duration),
                       "completion": done})  # fmt: skip
        ts = ts + timedelta(seconds=round(done * duration))
    return events


RETRIES = 5
"""A 503 (Neo4j busy or away for a moment: a transaction it asks to retry) is retried this
many times, after its Retry-After but at most 1 s (the loop waits for every session of an
hour: a 5-s wait stalls the whole hour), as an app backend would; then it stops the
simulation."""


async def _retrying(
    summary: Summary, send: Callable[[], Awaitable[httpx.Response]]
) -> httpx.Response:
    """``send()``'s response, sent again after a 503's Retry-After, up to :data:`RETRIES`
    times (counted in ``summary.retries``)."""
    for _ in range(RETRIES):
        response = await send()
        if response.status_code != 503:
            return response
        summary.retries += 1
        await asyncio.sleep(min(float(response.headers.get("Retry-After", "1")), 1.0))
    return await send()


async def _post(client: httpx.AsyncClient, events: list[dict[str, Any]], summary: Summary) -> None:
    if not events:
        return
    response = await _retrying(summary, lambda: client.post("/v1/events", json={"events": events}))
    if response.status_code != 200:
        raise RuntimeError(
            f"POST /v1/events answered {response.status_code}: {response.text[:300]}"
        )
    body = response.json()
    summary.events_applied += body["applied"]
    summary.events_rejected += len(body["rejected"])
