"""The TV data contract: which files a data set holds, their columns, keys and references.

This module is the one source of truth for the input format. Validation
(:mod:`loaders.validate`) checks files against it, the synthetic generator
(:mod:`loaders.generate`) writes columns in its order, and the tables of
``docs/data.md`` are rendered from it by :func:`contract_markdown` (a test keeps
them in step).

A data set is a folder holding one ``NAME.csv`` or ``NAME.parquet`` per file
below, loaded in the order of :data:`FILES` (every file only references files
that come before it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from graph.domain import (
    AVAILABILITY_KINDS,
    BLACKLIST_TARGETS,
    CSA_LEVELS,
    FUTURE_TOLERANCE_S,
    MAX_ID_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_WATCHED_S,
    PROFILES,
)

GENRE_SEPARATOR = "|"
"""Separator of the items of a ``str list`` cell: the genre ids of ``programs.genres``, the
country codes of ``availability.countries`` (a CSV cell holds a single string)."""

COUNTRY_PATTERN = "[A-Z]{2}"
"""An ISO 3166-1 alpha-2 code, upper case: ``users.country``, each of ``availability.countries``."""

TRUE_SPELLINGS = ("true", "t", "yes", "y", "1")
FALSE_SPELLINGS = ("false", "f", "no", "n", "0")
"""Accepted boolean spellings, case-insensitive."""


class Kind(StrEnum):
    """The value type of a column, as parsed by validation."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATETIME = "datetime"
    STR_LIST = "str list"
    CSA = "csa"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a file.

    ``allowed`` restricts a ``str`` column to an enumeration (compared lower-case);
    ``minimum``/``maximum`` bound a number (inclusive); ``pattern`` is a regular
    expression a ``str`` value (each item of a ``str list``) must match in full. Every
    ``str`` value (each id of a ``str list``) is at most ``max_length`` characters (ids:
    Neo4j indexes them) with no control character. A ``datetime`` with ``not_future`` is
    at most :data:`~graph.domain.FUTURE_TOLERANCE_S` after the time of the load. An
    optional ``str list`` left empty is missing (``None`` once validated), not ``[]``.
    """

    name: str
    kind: Kind
    required: bool = True
    doc: str = ""
    example: str = ""
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    max_length: int = MAX_ID_LENGTH
    not_future: bool = False

    @property
    def derived_level(self) -> str | None:
        """Name of the integer level column validation adds next to a CSA column."""
        return f"{self.name}_level" if self.kind is Kind.CSA else None


@dataclass(frozen=True, slots=True)
class Reference:
    """``column`` holds ids of ``target`` (its single key column).

    With ``when=(other_column, value)`` the reference only applies to rows whose
    ``other_column`` equals ``value`` (blacklists point at three kinds of target).
    """

    column: str
    target: str
    when: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """``end`` must come after ``start``; with ``strict=False`` they may be equal."""

    start: str
    end: str
    strict: bool = True


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One file of a data set: its columns (in order), key, references and time windows."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    windows: tuple[Window, ...] = ()
    required: bool = True

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def id_column(self) -> str | None:
        """The key column when the key is a single id (what references point at)."""
        return self.key[0] if len(self.key) == 1 else None

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _id(name: str, what: str, example: str) -> Column:
    return Column(name, Kind.STR, doc=f"id of the {what}; any non-empty text", example=example)


_CSA_VALUES = ", ".join(CSA_LEVELS)

FILES: tuple[FileSpec, ...] = (
    FileSpec(
        "genres",
        "Editorial genres (`:Genre`).",
        (
            _id("genre_id", "genre", "film"),
            Column(
                "name", Kind.STR, doc="display name", example="Film", max_length=MAX_TEXT_LENGTH
            ),
        ),
        key=("genre_id",),
    ),
    FileSpec(
        "channels",
        "Linear channels (`:Channel`); replay and VOD are offered on a channel too.",
        (
            _id("channel_id", "channel", "c001"),
            Column(
                "name",
                Kind.STR,
                doc="display name",
                example="Ciné Étoile 1",
                max_length=MAX_TEXT_LENGTH,
            ),
        ),
        key=("channel_id",),
    ),
    FileSpec(
        "bundles",
        "Subscription bundles (`:Bundle`).",
        (
            _id("bundle_id", "bundle", "cinema"),
            Column(
                "name",
                Kind.STR,
                doc="display name",
                example="Cinéma Premium",
                max_length=MAX_TEXT_LENGTH,
            ),
            Column(
                "is_free",
                Kind.BOOL,
                doc="free for every user (the base offer)",
                example="false",
            ),
        ),
        key=("bundle_id",),
    ),
    FileSpec(
        "bundle_channels",
        "Which channels each bundle includes (`(:Bundle)-[:INCLUDES]->(:Channel)`).",
        (
            Column("bundle_id", Kind.STR, doc="the bundle", example="cinema"),
            Column("channel_id", Kind.STR, doc="the channel", example="c007"),
        ),
        key=("bundle_id", "channel_id"),
        references=(Reference("bundle_id", "bundles"), Reference("channel_id", "channels")),
    ),
    FileSpec(
        "series",
        "Series that episodes belong to (`:Series`).",
        (
            _id("series_id", "series", "s000042"),
            Column(
                "title",
                Kind.STR,
                doc="display title",
                example="Les Secrets du Port",
                max_length=MAX_TEXT_LENGTH,
            ),
        ),
        key=("series_id",),
        required=False,
    ),
    FileSpec(
        "programs",
        "Programs: films, episodes, matches, news... (`:Program`, `HAS_GENRE`, `EPISODE_OF`).",
        (
            _id("program_id", "program", "p0001234"),
            Column(
                "title",
                Kind.STR,
                doc="display title",
                example="Le Dernier Voyage",
                max_length=MAX_TEXT_LENGTH,
            ),
            Column(
                "genres",
                Kind.STR_LIST,
                doc=f"genre ids separated by `{GENRE_SEPARATOR}`, at least one; the first is the "
                "main genre",
                example="film|humour",
            ),
            Column("csa", Kind.CSA, doc=f"CSA rating, one of {_CSA_VALUES}", example="-12"),
            Column("duration_s", Kind.INT, doc="duration in seconds", example="5400", minimum=1),
            Column(
                "year",
                Kind.INT,
                required=False,
                doc="production year",
                example="1998",
                minimum=1880,
                maximum=2100,
            ),
            Column(
                "series_id",
                Kind.STR,
                required=False,
                doc="the series, when the program is an episode",
                example="s000042",
            ),
            Column(
                "season",
                Kind.INT,
                required=False,
                doc="season number of an episode",
                example="2",
                minimum=1,
            ),
            Column(
                "episode",
                Kind.INT,
                required=False,
                doc="episode number within its season",
                example="7",
                minimum=1,
            ),
            Column(
                "availability",
                Kind.STR,
                doc="how the program is mainly offered: live (airs on the EPG this week), "
                "replay (catch-up of an earlier airing) or vod (catalogue title)",
                example="live",
                allowed=AVAILABILITY_KINDS,
            ),
        ),
        key=("program_id",),
        references=(Reference("genres", "genres"), Reference("series_id", "series")),
    ),
    FileSpec(
        "availability",
        "When and where a program can be watched (`(:Program)-[:AVAILABLE_ON]->(:Channel)`): "
        "a live airing on the EPG, or a replay / VOD window.",
        (
            Column("program_id", Kind.STR, doc="the program", example="p0001234"),
            Column("channel_id", Kind.STR, doc="the channel", example="c007"),
            Column(
                "start",
                Kind.DATETIME,
                doc="window start (live: airing start)",
                example="2025-01-06T20:50:00Z",
            ),
            Column(
                "end",
                Kind.DATETIME,
                doc="window end, after `start`",
                example="2025-01-06T22:35:00Z",
            ),
            Column(
                "kind",
                Kind.STR,
                doc="live airing, replay window or VOD window",
                example="live",
                allowed=AVAILABILITY_KINDS,
            ),
            Column(
                "countries",
                Kind.STR_LIST,
                required=False,
                doc="where the window may be watched: ISO 3166-1 alpha-2 codes, upper case, "
                f"separated by `{GENRE_SEPARATOR}`; empty = everywhere",
                example="FR|BE",
                pattern=COUNTRY_PATTERN,
            ),
        ),
        key=("program_id", "channel_id", "kind", "start"),
        references=(Reference("program_id", "programs"), Reference("channel_id", "channels")),
        windows=(Window("start", "end"),),
    ),
    FileSpec(
        "users",
        "Users / profiles (`:User`).",
        (
            _id("user_id", "user", "u0000042"),
            Column(
                "country",
                Kind.STR,
                doc="ISO 3166-1 alpha-2 code, upper case",
                example="FR",
                pattern=COUNTRY_PATTERN,
            ),
            Column(
                "profile",
                Kind.STR,
                doc="viewer profile",
                example="kids",
                allowed=PROFILES,
            ),
            Column(
                "csa_ceiling",
                Kind.CSA,
                doc=f"highest CSA rating the profile may see, one of {_CSA_VALUES}",
                example="-10",
            ),
        ),
        key=("user_id",),
    ),
    FileSpec(
        "subscriptions",
        "Who subscribes to which bundle, and when (`(:User)-[:SUBSCRIBES_TO]->(:Bundle)`).",
        (
            Column("user_id", Kind.STR, doc="the user", example="u0000042"),
            Column("bundle_id", Kind.STR, doc="the bundle", example="cinema"),
            Column("since", Kind.DATETIME, doc="start", example="2024-03-01T00:00:00Z"),
            Column(
                "until",
                Kind.DATETIME,
                required=False,
                doc="end, not before `since`; empty = still subscribed",
                example="2025-06-30T23:59:59Z",
            ),
        ),
        key=("user_id", "bundle_id", "since"),
        references=(Reference("user_id", "users"), Reference("bundle_id", "bundles")),
        windows=(Window("since", "until", strict=False),),
    ),
    FileSpec(
        "blacklists",
        "What a user asked never to be shown (`(:User)-[:BLACKLISTED]->(...)`).",
        (
            Column("user_id", Kind.STR, doc="the user", example="u0000042"),
            Column(
                "target_type",
                Kind.STR,
                doc="what `target_id` names",
                example="channel",
                allowed=BLACKLIST_TARGETS,
            ),
            Column(
                "target_id",
                Kind.STR,
                doc="the blacklisted program, channel or genre",
                example="c012",
            ),
        ),
        key=("user_id", "target_type", "target_id"),
        references=(
            Reference("user_id", "users"),
            Reference("target_id", "programs", when=("target_type", "program")),
            Reference("target_id", "channels", when=("target_type", "channel")),
            Reference("target_id", "genres", when=("target_type", "genre")),
        ),
        required=False,
    ),
    FileSpec(
        "watch_events",
        "Raw viewing events, aggregated into `(:User)-[:WATCHED]->(:Program)` by the loader. "
        "Can be tens of millions of rows: validated in chunks.",
        (
            Column(
                "event_id",
                Kind.STR,
                doc="id of the event; any non-empty text. Unique within a file (a repeat is "
                "rejected). The graph keeps the ids each `WATCHED` absorbed, so re-loading "
                "a file adds nothing twice; it does not index them across users and "
                "programs, so an id reused later for another user or program is loaded "
                "as a new event",
                example="e0000000001",
            ),
            Column("user_id", Kind.STR, doc="the user", example="u0000042"),
            Column("program_id", Kind.STR, doc="the program", example="p0001234"),
            Column("channel_id", Kind.STR, doc="the channel", example="c007"),
            Column(
                "ts",
                Kind.DATETIME,
                doc="when viewing started",
                example="2025-01-07T21:03:12Z",
                not_future=True,
            ),
            Column(
                "watched_s",
                Kind.INT,
                doc="seconds watched",
                example="2710",
                minimum=0,
                maximum=MAX_WATCHED_S,
            ),
            Column(
                "completion",
                Kind.FLOAT,
                doc="share of the program watched",
                example="0.5019",
                minimum=0.0,
                maximum=1.0,
            ),
        ),
        key=("event_id",),
        references=(
            Reference("user_id", "users"),
            Reference("program_id", "programs"),
            Reference("channel_id", "channels"),
        ),
    ),
)
"""Every file of the contract, in load order (a file only references earlier ones)."""

FILE_SPECS: Mapping[str, FileSpec] = {spec.name: spec for spec in FILES}
LOAD_ORDER: tuple[str, ...] = tuple(spec.name for spec in FILES)
EXTENSIONS = (".csv", ".parquet")


def _check_contract() -> None:
    """Fail at import if the declarations contradict each other (a programming error)."""
    seen: set[str] = set()
    for spec in FILES:
        names = spec.column_names
        for ref in spec.references:
            target = FILE_SPECS.get(ref.target)
            if ref.column not in names or target is None or target.id_column is None:
                raise RuntimeError(f"contract: bad reference {spec.name}.{ref.column}")
            if ref.target not in seen:
                raise RuntimeError(f"contract: {spec.name} references {ref.target} loaded later")
        if not set(spec.key) <= set(names):
            raise RuntimeError(f"contract: key of {spec.name} names unknown columns")
        seen.add(spec.name)


_check_contract()


def contract_markdown() -> str:
    """The per-file column tables of ``docs/data.md``, rendered from :data:`FILES`."""
    out: list[str] = []
    for spec in FILES:
        need = "required" if spec.required else "optional"
        out.append(f"### `{spec.name}` ({need})\n")
        out.append(f"{spec.doc}\n")
        out.append(f"Key: `{', '.join(spec.key)}` (unique).\n")
        out.append("| column | type | required | constraints | example |")
        out.append("|---|---|---|---|---|")
        for c in spec.columns:
            # A pipe ends a table cell even inside backticks, so it is escaped.
            cells = [_constraints(spec, c), f"`{c.example}`"]
            constraints, example = (cell.replace("|", "\\|") for cell in cells)
            out.append(
                f"| `{c.name}` | {c.kind.value} | {'yes' if c.required else 'no'} "
                f"| {constraints} | {example} |"
            )
        out.append("")
    return "\n".join(out)


def _constraints(spec: FileSpec, c: Column) -> str:
    parts = [c.doc] if c.doc else []
    if c.allowed:
        parts.append("one of " + ", ".join(f"`{a}`" for a in c.allowed))
    if c.minimum is not None:
        parts.append(f">= {_number(c.minimum)}")
    if c.maximum is not None:
        parts.append(f"<= {_number(c.maximum)}")
    each = "each id " if c.kind is Kind.STR_LIST else ""
    if c.pattern:
        parts.append(f"{each}matches `{c.pattern}`")
    if c.kind in (Kind.STR, Kind.STR_LIST) and not c.allowed:
        parts.append(f"{each}at most {c.max_length:,} characters, no control character")
    if c.not_future:
        parts.append(f"at most {FUTURE_TOLERANCE_S // 3600} hours after the time of the load")
    for ref in spec.references:
        if ref.column == c.name:
            target = FILE_SPECS[ref.target]
            cond = f" when `{ref.when[0]}` = `{ref.when[1]}`" if ref.when else ""
            parts.append(f"must exist in `{target.name}.{target.id_column}`{cond}")
    if c.derived_level:
        parts.append(f"validation adds `{c.derived_level}` (int)")
    return "; ".join(parts)


def _number(value: float) -> str:
    """A bound as the docs show it: whole numbers in full (31622400, not 3.16224e+07)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
