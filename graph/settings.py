"""Settings: the one place where every configurable value and its default lives.

Values come from the environment, then from a ``.env`` file in the working
directory, then from the defaults below. The Neo4j variables use the names the
official Docker image and drivers use (``NEO4J_URI``, ``NEO4J_USER``,
``NEO4J_PASSWORD``, ``NEO4J_DATABASE``); project settings start with
``GRAPHRAILS_``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from graph.domain import CsaRating

NEO4J_VERSION = "5.26.30"
"""Newest Neo4j 5.26 LTS release on Maven Central when this was written."""
BROWSER_VERSION = "5.24.0"
"""Newest Neo4j Browser jar on Maven Central (independent of the server's version)."""


def _default_home() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "graphrails"


class Settings(BaseSettings):
    """Everything graphrails reads from the environment."""

    # Fields are read only under their aliases: a field called ``home`` must
    # never pick up the shell's ``HOME``.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    neo4j_uri: str | None = Field(
        default=None,
        validation_alias="NEO4J_URI",
        description="Bolt URI of an external Neo4j. Unset: graphrails runs its own local server.",
    )
    neo4j_user: str = Field(default="neo4j", validation_alias="NEO4J_USER")
    neo4j_password: SecretStr | None = Field(
        default=None,
        validation_alias="NEO4J_PASSWORD",
        description="Unset with a local server: generated once and kept in the instance folder.",
    )
    neo4j_database: str = Field(default="neo4j", validation_alias="NEO4J_DATABASE")

    home: Path = Field(
        default_factory=_default_home,
        validation_alias="GRAPHRAILS_HOME",
        description="Where Neo4j jars, server data, logs and model artifacts live.",
    )
    models_path: Path | None = Field(
        default=None,
        validation_alias="GRAPHRAILS_MODELS_DIR",
        description="Model versions directory; unset: <home>/models.",
    )
    instance: str = Field(
        default="default",
        validation_alias="GRAPHRAILS_NEO4J_INSTANCE",
        description="Name of the local server instance (the tests use their own).",
    )
    bolt_port: int = Field(default=7687, validation_alias="GRAPHRAILS_NEO4J_BOLT_PORT")
    http_port: int = Field(default=7474, validation_alias="GRAPHRAILS_NEO4J_HTTP_PORT")
    heap: str = Field(
        default="2g",
        validation_alias="GRAPHRAILS_NEO4J_HEAP",
        description="JVM heap of the local server; 2g leaves room for training on a 24 GB box.",
    )
    pagecache: str = Field(default="2g", validation_alias="GRAPHRAILS_NEO4J_PAGECACHE")
    start_timeout_s: float = Field(default=120.0, validation_alias="GRAPHRAILS_NEO4J_START_TIMEOUT")
    class_archive: bool = Field(
        default=True,
        validation_alias="GRAPHRAILS_NEO4J_CLASS_ARCHIVE",
        description="Save the local server JVM's class archive at install and map it at every "
        "start (graph.server.LocalServer.save_class_archive).",
    )
    neo4j_version: str = Field(default=NEO4J_VERSION, validation_alias="GRAPHRAILS_NEO4J_VERSION")
    browser_version: str = Field(
        default=BROWSER_VERSION, validation_alias="GRAPHRAILS_NEO4J_BROWSER_VERSION"
    )

    # ---- rails (api/)
    completion_threshold: float = Field(
        default=0.9,
        ge=0,
        le=1,
        validation_alias="GRAPHRAILS_COMPLETION_THRESHOLD",
        description="A program watched to at least this ratio is done: it leaves the rails.",
    )
    window_days: float = Field(
        default=7.0,
        gt=0,
        validation_alias="GRAPHRAILS_WINDOW_DAYS",
        description="Live programs airing within this many days from now are eligible.",
    )

    anonymous_csa_ceiling: CsaRating = Field(
        default="-10",
        validation_alias="GRAPHRAILS_ANONYMOUS_CSA_CEILING",
        description="CSA ceiling for users the graph does not know (their profile is unknown).",
    )
    candidates: int = Field(
        default=200,
        gt=0,
        le=5000,
        validation_alias="GRAPHRAILS_CANDIDATES",
        description="Candidates each source of a rail proposes to eligibility (the "
        "popular-in-bundle list and a chain's last source go on when the rail is short).",
    )
    max_per_genre: int = Field(
        default=4, gt=0, validation_alias="GRAPHRAILS_MAX_PER_GENRE",
        description="At most this many items of one (main) genre in a rail.",
    )  # fmt: skip
    banned_genres: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias="GRAPHRAILS_BANNED_GENRES",
        description="Comma-separated ids of the genres no rail offers, whatever the user's "
        "taste (the broadcaster's banned kinds: news bulletins, weather...); empty: none.",
    )  # fmt: skip
    default_country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", validation_alias="GRAPHRAILS_DEFAULT_COUNTRY",
        description="Country (ISO 3166-1 alpha-2) whose rights apply to a user with none "
        "(unknown users may name theirs with `country`); unset: only airings licensed "
        "everywhere reach them.",
    )  # fmt: skip
    impression_rails: int = Field(
        default=5, ge=0, validation_alias="GRAPHRAILS_IMPRESSION_RAILS",
        description="A program shown to a user in this many rails within "
        "GRAPHRAILS_IMPRESSION_DAYS, unwatched since, leaves their personalised rails until "
        "it has not been shown for that many days (0: off).",
    )  # fmt: skip
    impression_days: int = Field(
        default=7, gt=0, le=365, validation_alias="GRAPHRAILS_IMPRESSION_DAYS",
        description="The days impression fatigue counts rails over (see the setting above).",
    )  # fmt: skip
    max_per_channel: int = Field(
        default=4, gt=0, validation_alias="GRAPHRAILS_MAX_PER_CHANNEL",
        description="At most this many items of one channel in a rail.",
    )  # fmt: skip
    popularity_blend: float = Field(
        default=0.0, ge=0, le=1, validation_alias="GRAPHRAILS_POPULARITY_BLEND",
        description="Weight of this week's audience in the personalised ranking (0: none).",
    )  # fmt: skip
    freshness_blend: float = Field(
        default=0.0, ge=0, le=1, validation_alias="GRAPHRAILS_FRESHNESS_BLEND",
        description="Weight of newness (first available in the last week) in the same ranking.",
    )  # fmt: skip
    rail_size: int = Field(default=20, gt=0, le=100, validation_alias="GRAPHRAILS_RAIL_SIZE")
    popularity_ttl_s: float = Field(
        default=300.0, gt=0, validation_alias="GRAPHRAILS_POPULARITY_TTL",
        description="How long the per-bundle popularity lists are cached by the API.",
    )  # fmt: skip
    ranker_programs_ttl_s: float = Field(
        default=300.0, ge=0, validation_alias="GRAPHRAILS_RANKER_PROGRAMS_TTL",
        description="How long the API keeps every program's facts for the ranker's features "
        "(duration, genres, series, availability windows): a change in the graph reaches "
        "the ranking this much later at most (0: read for every ranked rail).",
    )  # fmt: skip
    max_concurrent_rails: int = Field(
        default=8,
        ge=0,
        validation_alias="GRAPHRAILS_MAX_CONCURRENT_RAILS",
        description=(
            "Rail requests computed at once by one API process; the others wait their turn "
            "(0: no limit). Beyond what Neo4j's cores keep busy, more at once only interleave "
            "and cost more CPU per request (docs/benchmarks.md). After Neo4j fails, one at a "
            "time, one more per success, the others answered 503 (api/rails/admission.py)."
        ),
    )

    # ---- monitoring and served log
    served_log: bool = Field(
        default=True, validation_alias="GRAPHRAILS_SERVED_LOG",
        description="Record every served rail item in Neo4j (:Served) for the audits.",
    )  # fmt: skip
    served_retention_days: float = Field(
        default=30.0, gt=0, validation_alias="GRAPHRAILS_SERVED_RETENTION_DAYS",
        description="Served records older than this are pruned by the API's writer.",
    )  # fmt: skip
    served_queue_size: int = Field(
        default=10_000, gt=0, validation_alias="GRAPHRAILS_SERVED_QUEUE_SIZE",
        description="Served rails waiting to be written; more are dropped (and counted).",
    )  # fmt: skip
    served_flush_s: float = Field(
        default=1.0, gt=0, validation_alias="GRAPHRAILS_SERVED_FLUSH_INTERVAL",
        description="Seconds between two writes of the served log (one transaction each).",
    )  # fmt: skip

    # ---- retrains
    gate_margin: float = Field(
        default=0.01, ge=0, le=1, validation_alias="GRAPHRAILS_GATE_MARGIN",
        description=(
            "A retrained version is refused when its NDCG@10 is more than this many points "
            "(absolute) below the serving version's, both scored on the same held-out pairs."
        ),
    )  # fmt: skip
    gate_min_users: int = Field(
        default=50, gt=0, validation_alias="GRAPHRAILS_GATE_MIN_USERS",
        description="Fewer held-out users than this (or comparable ones): the gate refuses.",
    )  # fmt: skip
    keep_versions: int = Field(
        default=5, ge=1, validation_alias="GRAPHRAILS_KEEP_VERSIONS",
        description="Model versions kept on disk, besides the serving one and its rollback.",
    )  # fmt: skip
    retrain_cron: str = Field(
        default="0 3 * * *", validation_alias="GRAPHRAILS_RETRAIN_CRON",
        description="When `graphrails schedule` retrains: a 5-field crontab line, in UTC.",
    )  # fmt: skip
    model_poll_s: float = Field(
        default=5.0, gt=0, validation_alias="GRAPHRAILS_MODEL_POLL_INTERVAL",
        description="Seconds between two checks by the API of the version Neo4j marks serving.",
    )  # fmt: skip

    # ---- events and fatigue
    api_keys: SecretStr | None = Field(
        default=None, validation_alias="GRAPHRAILS_API_KEYS",
        description="Comma-separated keys that may POST /v1/events (unset: writes refused).",
    )  # fmt: skip
    read_keys: SecretStr | None = Field(
        default=None, validation_alias="GRAPHRAILS_READ_KEYS",
        description="Comma-separated keys that may read rails and explanations (a write key "
        "may too); unset: reads are open to whoever reaches the port, as in the demo.",
    )  # fmt: skip
    demo_pages: bool = Field(
        default=False, validation_alias="GRAPHRAILS_DEMO_PAGES",
        description="Serve the rails preview page (/demo, /demo/*) and Neo4j Browser's guide "
        "and style (/browser/*); `graphrails demo` turns them on.",
    )  # fmt: skip
    neo4j_retry_s: float = Field(
        default=0.0, ge=0, validation_alias="GRAPHRAILS_API_NEO4J_RETRY",
        description="Seconds the API's driver retries a transaction Neo4j could not take (lost "
        "connection, deadlock) before the request answers 503 with Retry-After.",
    )  # fmt: skip
    event_future_hours: float = Field(
        default=24.0, gt=0, validation_alias="GRAPHRAILS_EVENT_FUTURE_HOURS",
        description="POST /v1/events refuses an event dated more than this many hours after "
        "the API's clock (a 422); graphrails simulate raises it for the API it starts, its "
        "simulated days running ahead of the clock.",
    )  # fmt: skip
    fold_in_watches: int = Field(
        default=20, gt=0, le=1000, validation_alias="GRAPHRAILS_FOLD_IN_WATCHES",
        description="A user's last this many watches make their folded-in vector.",
    )  # fmt: skip
    fatigue_completion: float = Field(
        default=0.7, ge=0, le=1, validation_alias="GRAPHRAILS_FATIGUE_COMPLETION",
        description="A program started but watched less than this (or skipped) is abandoned.",
    )  # fmt: skip
    fatigue_programs: int = Field(
        default=30, ge=0, le=1000, validation_alias="GRAPHRAILS_FATIGUE_PROGRAMS",
        description="The user's last this many abandoned programs stay out of their rails.",
    )  # fmt: skip
    fatigue_series: int = Field(
        default=1, ge=0, validation_alias="GRAPHRAILS_FATIGUE_SERIES",
        description="So do the series of the last this many of them (distinct series).",
    )  # fmt: skip
    fatigue_channels: int = Field(
        default=1, ge=0, validation_alias="GRAPHRAILS_FATIGUE_CHANNELS",
        description="And the channels they were watched on, the last this many (distinct).",
    )  # fmt: skip

    # ---- experiments (experiments/, api/experiments.py)
    experiments_poll_s: float = Field(
        default=5.0, gt=0, validation_alias="GRAPHRAILS_EXPERIMENTS_POLL_INTERVAL",
        description="Seconds between two reads by the API of the running experiment.",
    )  # fmt: skip
    play_window_h: float = Field(
        default=24.0, gt=0, validation_alias="GRAPHRAILS_PLAY_WINDOW_HOURS",
        description="An item served, then watched by that user within this many hours "
        "of the rail's time, counts as played in an experiment's report.",
    )  # fmt: skip

    @property
    def api_key_list(self) -> list[str]:
        """The keys of ``GRAPHRAILS_API_KEYS``, split on commas (empty: writes are refused)."""
        if self.api_keys is None:
            return []
        return [k.strip() for k in self.api_keys.get_secret_value().split(",") if k.strip()]

    @property
    def read_key_list(self) -> list[str]:
        """The keys of ``GRAPHRAILS_READ_KEYS``, split on commas (empty: reads are open)."""
        if self.read_keys is None:
            return []
        return [k.strip() for k in self.read_keys.get_secret_value().split(",") if k.strip()]

    @field_validator("banned_genres", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """``news, weather`` (the environment's form) as ``("news", "weather")``."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _blend_weights(self) -> Settings:
        if self.popularity_blend + self.freshness_blend > 1:
            raise ValueError(
                "GRAPHRAILS_POPULARITY_BLEND + GRAPHRAILS_FRESHNESS_BLEND must be at most 1, got "
                f"{self.popularity_blend} + {self.freshness_blend}"
            )
        return self

    @classmethod
    def with_fields(cls, **fields: Any) -> Settings:
        """Settings with some fields given by name (not by variable), the rest as usual."""
        aliases = {name: info.validation_alias for name, info in cls.model_fields.items()}
        by_alias: dict[str, Any] = {str(aliases[k] or k): v for k, v in fields.items()}
        return cls(**by_alias)

    @property
    def managed(self) -> bool:
        """True when graphrails runs the Neo4j server itself (no ``NEO4J_URI`` given)."""
        return self.neo4j_uri is None

    @property
    def uri(self) -> str:
        return self.neo4j_uri or f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def instance_dir(self) -> Path:
        return self.home / "neo4j" / "instances" / self.instance

    @property
    def jars_dir(self) -> Path:
        return self.home / "neo4j" / f"{self.neo4j_version}+browser-{self.browser_version}"

    @property
    def models_dir(self) -> Path:
        """Where model versions (artifacts) are written."""
        return self.models_path or self.home / "models"

    @property
    def password_file(self) -> Path:
        return self.instance_dir / "password"

    @property
    def browser_url(self) -> str:
        if self.managed:
            return f"http://127.0.0.1:{self.http_port}/browser/"
        host = urlsplit(self.uri).hostname or "localhost"
        return f"http://{host}:7474/browser/"
