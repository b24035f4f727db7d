"""The words every step of the rails pipeline shares: a user's context, an offer, a reason,
a rail and its items."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from api.model import RecentWatch


@dataclass
class UserContext:
    user_id: str | None
    known: bool
    csa_ceiling: str | None
    csa_ceiling_level: int | None
    """The level eligibility compares with (None: the user gets the anonymous ceiling)."""
    bundles: list[str]
    free_bundles: list[str]
    watched: int
    anchors: list[dict[str, str]]
    recent: list[RecentWatch]
    """The last ``fold_in_watches`` watches, most recent first (the fold-in's input)."""
    genre_share: dict[str, tuple[str, float]]
    """genre id -> (name, share of the user's watch time): the seconds of the watches of
    the genre's programs over those of all their watches (a program of two genres counts
    for both, so the shares can add up to more than 1)."""
    not_applicable: list[str]
    country: str | None = None
    """The country whose rights apply: the user's, else the request's, else the setting's
    (None: only what is licensed everywhere)."""


@dataclass(slots=True)
class Offer:
    """An eligible program for a user: what to show and where it is available.

    Not frozen: a ranked rail builds one per eligible candidate (about a hundred), and a
    frozen dataclass's ``__init__`` costs five times as much; nothing changes an offer
    once eligibility has built it."""

    rank: int
    candidate_id: str
    program_id: str
    title: str
    csa: str | None
    genres: tuple[str, ...]
    """Genre ids, the main genre first (the first of the program's genres in the data)."""
    series_id: str | None
    series_title: str | None
    season: int | None
    episode: int | None
    channel_id: str | None
    channel_name: str | None
    bundle_id: str | None
    kind: str | None
    available_from: datetime | None
    available_until: datetime | None
    follows_series: bool = False
    """The user completed an earlier episode of this program's series."""


@dataclass
class Reason:
    type: str
    text: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class EligibilityCount:
    """What eligibility was asked while a rail was filled: the metrics read it from the rail."""

    asked: int = 0
    """Candidate programs sent to Neo4j."""
    offered: int = 0
    """Offers it returned for them (the rest were rejected)."""

    def add(self, *, asked: int, offered: int) -> None:
        self.asked += asked
        self.offered += offered


ScoreKind = Literal["p_complete", "retrieval"]
"""What an item's score is: the ranker's P(complete), or the proposing source's score."""


@dataclass
class RailItem:
    offer: Offer
    score: float | None
    source: str
    backfill: bool
    reason: Reason
    score_kind: ScoreKind = "retrieval"
    """``p_complete`` when the ranker ordered the item (then
    ``score`` is the probability), else ``retrieval``."""


@dataclass
class Rail:
    rail: str
    title: str
    items: list[RailItem] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    empty_reason: str | None = None
    anchor_id: str | None = None
    csa_ceiling_level: int = 0
    """The CSA ceiling the rail was filtered with (what the served log records)."""
    bundles: list[str] = field(default_factory=list)
    """The bundles the user could watch when the rail was computed (ditto)."""
    model_version: str | None = None
    """The model version the rail was computed with, for its candidates and its
    explanations alike (None: no model); what the response and the served log report."""
    eligibility: EligibilityCount = field(default_factory=EligibilityCount)
    """The eligibility round trips spent on this rail (for the metrics)."""
    ranker_fallback: str | None = None
    """Why offers the ranker should have ordered kept retrieval order (for the metrics)."""


Candidates = list[tuple[str, float | None]]
"""Program ids with the proposing source's score, best first."""
Source = tuple[str, Callable[[], Awaitable[Candidates]]]
"""A source's name and the call that lists its candidates."""
