"""Response models of the API (inputs are path and query parameters)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Explanation(BaseModel):
    type: str = Field(description="next_episode, because_you_watched, you_like_genre, "
                      "popular_on_channel, best_of_bundle or new_this_week")  # fmt: skip
    text: str = Field(description="A sentence to show next to the item.")
    evidence: dict[str, Any] = Field(description="The graph facts behind the sentence.")


class Item(BaseModel):
    program_id: str
    title: str
    genres: list[str]
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
    score: float | None = Field(description="Score from the proposing source (higher first).")
    source: str = Field(description="Source of the fallback chain that proposed the item.")
    backfill: bool = Field(description="True when the rail's first source ran short.")
    explanation: Explanation


class RailOut(BaseModel):
    rail: str
    title: str
    user_id: str | None
    anchor_program_id: str | None = None
    model_version: str | None = Field(description="Embeddings version behind the scores.")
    sources: list[str] = Field(description="Sources that contributed, in chain order.")
    items: list[Item]
    empty_reason: str | None = Field(default=None, description="Why the rail is empty, when it is.")


class RailsOut(BaseModel):
    rails: list[RailOut]


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


class ExplainOut(BaseModel):
    user_id: str
    program_id: str
    eligible: bool = Field(description="Whether the program passes every rule for the user now.")
    paths: list[GraphPath]
    cypher: str = Field(description="Paste into Neo4j Browser to see the paths drawn.")
