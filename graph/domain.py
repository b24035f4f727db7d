"""The domain's words, shared by the loaders (files) and the API (requests) alike.

French TV ratings, the targets a user can blacklist, the bounds of a watch, and
the rule that folds watch events into one ``WATCHED`` row per (user, program).
This module imports nothing of ours: every package may use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

CsaRating = Literal["TP", "-10", "-12", "-16", "-18"]
"""A French CSA (Arcom) signalétique rating, as files and settings spell it."""

CSA_LEVELS: Mapping[str, int] = {"TP": 0, "-10": 10, "-12": 12, "-16": 16, "-18": 18}
"""French CSA (Arcom) signalétique: rating -> integer level. A user may see a program iff
``program.csa_level <= user.csa_ceiling_level``."""

if tuple(CSA_LEVELS) != get_args(CsaRating):  # pragma: no cover - a guard on this file
    raise RuntimeError("graph/domain.py: CSA_LEVELS and CsaRating name different ratings")

MAX_WATCHED_S = 366 * 24 * 3600
"""Seconds in one watch event at most, for files and POST /v1/events alike (a year: far
above any viewing). Fitting in 64 bits is not enough: the graph adds a watch's events up,
and two of 2^63 - 1 would overflow the sum, while billions of a year's each still fit."""

MAX_ID_LENGTH = 256
"""Characters in an id at most (users, programs, channels, genres, bundles, series, events),
in files, paths and query parameters alike. Neo4j refuses to index a value over about 8 KB
(and a batch holding one fails whole); 256 characters are at most 1 KB in UTF-8."""
MAX_TEXT_LENGTH = 1_000
"""Characters in a display name or title at most (not indexed, but stored and served)."""
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f]"
"""Characters no id or name may hold (C0 and C1 controls, DEL): NUL, escape codes, newlines."""
FUTURE_TOLERANCE_S = 24 * 3600
"""How far after the time of the load (or of the request) an event may be dated: a day of
clock skew and time-zone mistakes. Later ones are refused: a future watch would count as
the most recent one in recency and fatigue for as long as it stays in the future."""

PROFILES = ("adult", "teen", "kids")
AVAILABILITY_KINDS = ("live", "replay", "vod")
BLACKLIST_TARGETS = ("program", "channel", "genre")

WATCH_EVENT_FIELDS = ("event_id", "ts", "watched_s", "completion", "channel_id")
"""The fields of one watch event kept on its ``WATCHED`` relationship."""


def csa_level(rating: str) -> int:
    """The integer level of a CSA rating (``"-12"`` -> 12); raises ``ValueError`` naming it."""
    try:
        return CSA_LEVELS[rating]
    except KeyError:
        raise ValueError(
            f"unknown CSA rating {rating!r}; expected one of {', '.join(CSA_LEVELS)}"
        ) from None


def group_event_records(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (user, program) with its events, as ``cypher/load/watch_events`` wants,
    from records holding ``user_id``, ``program_id`` and :data:`WATCH_EVENT_FIELDS`: event
    files and the API's ``POST /v1/events`` fold watches through this one rule."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        event = {k: r[k] for k in WATCH_EVENT_FIELDS}
        grouped.setdefault((r["user_id"], r["program_id"]), []).append(event)
    return [
        {"user_id": user, "program_id": program, "events": events}
        for (user, program), events in grouped.items()
    ]
