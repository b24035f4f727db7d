"""Request and response models of the API (the rails take path and query parameters;
``POST /v1/events`` takes :class:`EventsIn`)."""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from api.rails.types import ScoreKind
from graph.domain import CONTROL_CHARACTERS, FUTURE_TOLERANCE_S, MAX_ID_LENGTH, MAX_WATCHED_S

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
MAX_UTC_OFFSET = timedelta(hours=18)
"""The largest UTC offset ISO 8601 times may carry here (Python's and Neo4j's bound: a larger
one passed parsing, then failed in the driver as a 500)."""


def _not_a_number(value: Any) -> Any:
    # pydantic reads a bare number as Unix time; a caller who meant that should say it in
    # ISO 8601, and one who did not would get 1970 without a word.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError(
            f"{value!r} is a number, not an ISO 8601 time (such as 2025-01-07T21:00:00Z)"
        )
    return value


def _offset_within_bounds(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError(f"the UTC offset of {value.isoformat()} is beyond +-18:00")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_offset_within_bounds)]
"""An ISO 8601 time (read as UTC without an offset); a bare number or an offset beyond
+-18:00 is a validation error naming the field."""


FUTURE_HOURS: ContextVar[float] = ContextVar("FUTURE_HOURS", default=FUTURE_TOLERANCE_S / 3600)
"""How far ahead of the clock an event may be dated, in hours, while a body is validated:
the API's ``GRAPHRAILS_EVENT_FUTURE_HOURS``, which ``POST /v1/events`` sets around the
validation of its body (:mod:`api.routes.events`)."""


def _not_in_the_future(value: datetime) -> datetime:
    at = value if value.tzinfo else value.replace(tzinfo=UTC)
    hours = FUTURE_HOURS.get()
    if at > datetime.now(UTC) + timedelta(hours=hours):
        raise ValueError(f"{value.isoformat()} is more than {hours:g} hours in the future")
    return value


Id = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=f"^[^{CONTROL_CHARACTERS[1:-1]}]*$"),
]
"""An id: 1 to MAX_ID_LENGTH characters, no control character."""


class ErrorOut(BaseModel):
    """An error: what went wrong, in a sentence naming the parameter or the id."""

    detail: str


_ERRORS: dict[int, str] = {
    400: "The request names something the API cannot take.",
    401: "No API key was sent (X-API-Key).",
    403: "The API key is wrong, or no key is configured for this kind of request.",
    404: "The user, program or bundle named does not exist, or no such route.",
    413: "The body is larger than the API takes.",
    503: "Neo4j is unavailable; retry after the seconds in Retry-After.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route for these error statuses (422 is FastAPI's own)."""
    return {code: {"model": ErrorOut, "description": _ERRORS[code]} for code in codes}


class Explanation(BaseModel):
    type: str = Field(description="next_episode, because_you_watched, similar_to, "
                      "you_like_genre, popular_on_channel, best_of_bundle, top_replay, "
                      "new_this_week or recommended")  # fmt: skip
    text: str = Field(description="A sentence to show next to the item.")
    evidence: dict[str, Any] = Field(description="The graph facts behind the sentence.")


class Item(BaseModel):
    program_id: str
    title: str
    genres: list[str] = Field(description="Genre ids, the main genre first.")
    csa: str | None
    series_id: str | None = None
    series_title: str | None = None
    season: int | None = None
    episode: int | None = None
    channel_id: str | None = Field(description="Channel to watch it on (null: not applicable).")
    channel_name: str | None = None
    bundle_id: str | None = Field(description="The user's bundle that carries the channel.")
    availability: str | None = Field(description="live, replay or vod")
    available_from: datetime | None = None
    available_until: datetime | None = None
    score: float | None = Field(
        description="With score_kind p_complete, the probability in [0, 1] that the user "
        "completes the program; with retrieval, the proposing source's score (higher first)."
    )
    score_kind: ScoreKind = Field(
        description="p_complete: the ranker ordered the item by that probability; retrieval: "
        "the item has its source's order (no ranker, another source, or missing features)."
    )
    source: str = Field(description="Source of the fallback chain that proposed the item.")
    backfill: bool = Field(description="True when the rail's first source ran short.")
    explanation: Explanation


class RailOut(BaseModel):
    rail: str
    title: str
    user_id: str | None
    anchor_program_id: str | None = None
    model_version: str | None = Field(description="Embeddings version behind the scores.")
    experiment: str | None = Field(
        default=None, description="The running A/B experiment the user takes part in."
    )
    arm: str | None = Field(
        default=None,
        description="The user's arm of that experiment (what the rail was computed with).",
    )
    sources: list[str] = Field(description="Sources that contributed, in chain order.")
    items: list[Item]
    empty_reason: str | None = Field(default=None, description="Why the rail is empty, when it is.")


class RailsOut(BaseModel):
    rails: list[RailOut]
    empty_reason: str | None = Field(
        default=None, description="Why there is no rail, when there is none."
    )


class GraphNode(BaseModel):
    element_id: str
    labels: list[str]
    id: str | None
    name: str | None


class GraphRelationship(BaseModel):
    type: str
    start: str
    end: str


class GraphPath(BaseModel):
    kind: str
    nodes: list[GraphNode]
    relationships: list[GraphRelationship]


class Exclusion(BaseModel):
    rule: str = Field(description="banned_genre, country or impressions")
    text: str = Field(description="A sentence saying how the rule keeps the program out.")


class ExplainOut(BaseModel):
    user_id: str
    program_id: str
    known_user: bool = Field(
        description="Whether the graph knows the user; an unknown one is explained as the "
        "rails serve them: the free bundles and the anonymous CSA ceiling."
    )
    bundles: list[str] = Field(
        description="The bundles the user can watch at `now` (active subscriptions and free "
        "bundles): what `eligible` was decided with."
    )
    csa_ceiling: str = Field(description="The CSA ceiling `eligible` was decided with.")
    eligible: bool = Field(description="Whether the program passes every rule for the user now.")
    country: str | None = Field(
        description="The country whose rights `eligible` was decided with (null: only what "
        "is licensed everywhere)."
    )
    excluded_by: list[Exclusion] = Field(
        description="The service rules that keep the program out for this user now: banned "
        "genres, country rights, impression fatigue (empty: none of them does)."
    )
    paths: list[GraphPath]
    cypher: str = Field(
        description="The query behind `paths`, its parameters written in as literals: paste it "
        "into Neo4j Browser and run it to see the paths drawn."
    )


# ---------------------------------------------------------------- events
MAX_EVENTS = 1000
"""Events in one POST /v1/events (larger batches: send several)."""
MAX_EVENTS_BYTES = 2 * 1024 * 1024
"""Bytes in one POST /v1/events body at most (413 beyond); a full batch of events with
ids of a few dozen characters is about 0.3 MB."""


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: Id = Field(description="Unique id of the event: replaying it changes nothing.")
    user_id: Id = Field(description="The user; one the graph does not know is created.")
    ts: Annotated[IsoTime, AfterValidator(_not_in_the_future)] = Field(
        description="When it happened (ISO 8601; without offset: UTC); at most "
        "GRAPHRAILS_EVENT_FUTURE_HOURS (24) ahead of the server's clock."
    )


class WatchEvent(_Event):
    """Watch progress, the columns of the `watch_events` file (docs/data.md)."""

    type: Literal["watch"]
    program_id: Id
    channel_id: Id = Field(description="The channel it was watched on (replay and VOD too).")
    watched_s: int = Field(ge=0, le=MAX_WATCHED_S, description="Seconds watched (a year at most).")
    completion: float = Field(ge=0, le=1, description="Share of the program watched.")


class SkipEvent(_Event):
    """The user skipped a program (it counts as abandoned, for fatigue)."""

    type: Literal["skip"]
    program_id: Id
    channel_id: Id | None = Field(default=None, description="Where it was skipped, if known.")


class DislikeEvent(_Event):
    """The user disliked a program: the program is blacklisted."""

    type: Literal["dislike"]
    program_id: Id


class BlacklistEvent(_Event):
    """Never show the user this program, channel or genre again (until un-blacklisted)."""

    type: Literal["blacklist", "unblacklist"]
    target_type: Literal["program", "channel", "genre"]
    target_id: Id


Event = Annotated[
    WatchEvent | SkipEvent | DislikeEvent | BlacklistEvent, Field(discriminator="type")
]


class EventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[Event] = Field(min_length=1, max_length=MAX_EVENTS)


class EventReject(BaseModel):
    index: int = Field(description="Position of the event in the posted list (from 0).")
    event_id: str
    field: str = Field(description="The field at fault.")
    reason: str = Field(description="`code: explanation` (unknown_reference, duplicate_id).")


class EventsOut(BaseModel):
    received: int = Field(description="Events in the request.")
    applied: int = Field(description="Events written now.")
    already_applied: int = Field(description="Valid events whose id the graph already had.")
    rejected: list[EventReject] = Field(description="Events not written, and why.")
    created_users: list[str] = Field(description="Users the graph did not know, now created.")
