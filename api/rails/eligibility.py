"""Eligibility: which candidate programs a user may be offered, decided in Cypher.

The rules live in ``cypher/rails/offers.part.cypher``, which ``cypher/rails/eligible.cypher``
includes (one round trip for a whole candidate list); this module only prepares the
parameters and types the rows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from neo4j import AsyncDriver, RoutingControl

from api.rails.types import EligibilityCount, Offer
from graph.domain import CSA_LEVELS
from graph.queries import query
from graph.settings import Settings


@dataclass(frozen=True)
class Fatigue:
    """The fatigue rule's settings (see ``cypher/rails/offers.part.cypher``)."""

    completion: float
    """Below this best completion a started program is abandoned."""
    programs: int
    """The user's last this many abandoned (or skipped) programs are left out; 0: off."""
    series: int
    """So are the series of the most recent of them (this many distinct series)."""
    channels: int
    """And the channels they were watched on (this many distinct channels)."""


NO_FATIGUE = Fatigue(completion=0.0, programs=0, series=0, channels=0)

NO_COUNTRY = ""
"""The ``country`` of the rules when neither the user, the request nor the setting gives
one: only airings with no list of countries are offered, as with null (no country code is
empty). A string, as a country is, so that every call of a statement passes the same
parameter types: Neo4j plans a statement once per set of types (a null, or an empty list,
counts as a type of its own), and a plan on a Neo4j just started costs seconds (issue 18)."""

NO_SERIES = ""
"""A series id no series has (ids are non-empty), which the series to skip always hold:
never an empty list, for the same reason as :data:`NO_COUNTRY`."""


PERSONALISED_RAILS = frozenset({"home", "because_you_watched", "similar"})
"""The rails drawn for one user's taste: impression fatigue applies to them only (the rails
of a bundle are the same for all its users)."""


def rule_parameters(
    settings: Settings,
    fatigue: Fatigue,
    now: datetime,
    *,
    rail: str,
    country: str | None,
    max_offers: int,
    kinds: Collection[str] | None = None,
    skip_series: Collection[str] = (),
) -> dict[str, Any]:
    """The parameters of the eligibility rules (cypher/rails/offers.part.cypher) for one
    call: the settings' rules, ``fatigue`` (an experiment's arm may change it), the rail it
    fills (impression fatigue applies to :data:`PERSONALISED_RAILS`), the request's
    ``country`` (for a user the graph gives none; default: the setting's), the airing
    ``kinds`` allowed (None: any) and the series already offered in the rail."""
    return {
        "now": now,
        "horizon": now + timedelta(days=settings.window_days),
        "completion": settings.completion_threshold,
        "default_ceiling": CSA_LEVELS[settings.anonymous_csa_ceiling],
        "fatigue_completion": fatigue.completion,
        "fatigue_programs": fatigue.programs,
        "fatigue_series": fatigue.series,
        "fatigue_channels": fatigue.channels,
        "banned_genres": list(settings.banned_genres),
        "country": country or settings.default_country or NO_COUNTRY,
        "impression_rails": settings.impression_rails if rail in PERSONALISED_RAILS else 0,
        "impression_days": settings.impression_days,
        "kinds": None if kinds is None else sorted(kinds),
        "skip_series": [NO_SERIES, *sorted(skip_series)],
        "max_offers": max_offers,
    }


def eligible_parameters(
    settings: Settings,
    fatigue: Fatigue,
    *,
    user_id: str,
    program_ids: list[str],
    now: datetime,
    rail: str,
    country: str | None,
    check_availability: bool,
    max_offers: int | None,
    kinds: Collection[str] | None,
    skip_series: Collection[str],
) -> dict[str, Any]:
    """Every parameter of cypher/rails/eligible.cypher for one call of
    :func:`eligible_offers` (which says what each means)."""
    rules = rule_parameters(
        settings, fatigue, now, rail=rail, country=country, kinds=kinds,
        skip_series=skip_series,
        max_offers=len(program_ids) if max_offers is None else max_offers,
    )  # fmt: skip
    return {
        **rules,
        "user_id": user_id,
        "program_ids": program_ids,
        "check_availability": check_availability,
    }


async def eligible_offers(
    driver: AsyncDriver,
    settings: Settings,
    *,
    user_id: str,
    program_ids: list[str],
    now: datetime,
    rail: str,
    country: str | None = None,
    check_availability: bool = True,
    fatigue: Fatigue = NO_FATIGUE,
    max_offers: int | None = None,
    kinds: Collection[str] | None = None,
    skip_series: Collection[str] = (),
    count: EligibilityCount | None = None,
) -> list[Offer]:
    """The offers for ``program_ids`` (kept in their order) that ``user_id`` is eligible for
    under ``settings``' rules (see :func:`rule_parameters` for ``rail``, ``country`` and
    ``kinds``).

    An episode may be replaced by the user's next episode of its series; a
    candidate with no eligible offer is left out. A user unknown to the graph
    is treated as anonymous: free bundles and the anonymous CSA ceiling. ``fatigue``
    (default: off) keeps out what the user recently abandoned. With ``max_offers``, only
    the first that many offers, in candidate order: the candidates after the last one
    are not evaluated (fewer offers than that means every candidate was). Only the
    best ranked candidate of a series is tested (they would all offer the same next
    episode), and no candidate of the series in ``skip_series``. The round trip is added
    to ``count`` (the rail's), when given.
    """
    if not program_ids or max_offers == 0:
        return []
    params = eligible_parameters(
        settings, fatigue, user_id=user_id, program_ids=program_ids, now=now, rail=rail,
        country=country, check_availability=check_availability, max_offers=max_offers,
        kinds=kinds, skip_series=skip_series,
    )  # fmt: skip
    records, _, _ = await driver.execute_query(
        query("rails/eligible"),
        params,
        database_=settings.neo4j_database,
        routing_=RoutingControl.READ,
    )
    offers = offers_from_rows(records[0]["offers"] if records else [])
    if count is not None:
        count.add(asked=len(program_ids), offered=len(offers))
    return offers


def offers_from_rows(rows: list[list[Any]]) -> list[Offer]:
    """The offers of the ``offers`` column of eligible.cypher (or home.cypher), in rank
    order."""
    return [_offer(row) for row in sorted(rows, key=lambda row: row[0]) if row[2] is not None]


def _offer(row: list[Any]) -> Offer:
    """An offer from one row of eligible.cypher: the fields of :class:`Offer`, in order,
    each time as its three numbers."""
    (rank, candidate_id, program_id, title, csa, genres, series_id, series_title, season,
     episode, channel_id, channel_name, bundle_id, kind, start_s, start_ns, start_offset,
     end_s, end_ns, end_offset, follows) = row  # fmt: skip
    return Offer(rank, candidate_id, program_id, title, csa, tuple(genres or ()), series_id,
                 series_title, season, episode, channel_id, channel_name, bundle_id, kind,
                 _datetime(start_s, start_ns, start_offset), _datetime(end_s, end_ns, end_offset),
                 bool(follows))  # fmt: skip


@lru_cache(maxsize=8192)
def _datetime(seconds: int | None, nanosecond: int | None, offset: int | None) -> datetime | None:
    """A time as eligible.cypher returns it (epoch seconds, nanosecond, UTC offset seconds)
    as an aware datetime at that offset, truncated to microseconds like the driver's
    ``to_native``; None when the offer has no availability window. Remembered: the
    airings of the popular programs come back in offer after offer, and a datetime is
    immutable."""
    if seconds is None or nanosecond is None or offset is None:
        return None
    tz = UTC if offset == 0 else timezone(timedelta(seconds=offset))
    at = datetime.fromtimestamp(seconds, tz)
    return at.replace(microsecond=nanosecond // 1000) if nanosecond else at
