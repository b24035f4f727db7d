"""A synthetic French live-TV data set that follows the contract (``graphrails generate tv``).

The world, in short (``docs/data.md`` has the details):

* channels grouped by theme (généraliste, information, cinéma, séries, sport,
  jeunesse, découverte, musique, art de vivre), 20 to 150 of them depending on
  the catalogue size; ten bundles, one of them free and held by everyone;
* twenty genres; programs get a home channel, genres from its theme, a
  duration and a CSA rating typical of the genre (``-18`` only on cinema
  channels); most episodic programs are grouped into series with seasons;
* a 7-day EPG from a fixed start date: each channel airs its programs back to
  back, ``-16`` only from 22:00 and ``-18`` only from 00:00 to 05:00 (UTC);
  most airings open a 7-day replay window; programs that do not air are replays
  of last week or VOD titles spanning the week;
* users (adult 75 %, kids 15 %, teen 10 %) with a latent taste over genres,
  0-3 paid bundles chosen by taste, a favourite channel, and ~20 watch events
  on average (log-normal); programs have Zipf popularity; a user watches
  programs their ceiling allows and, except ~1 % of free previews, on
  channels of their bundles, within a real availability window; completion
  grows with how much the user likes the program's genre; ~3 % of users
  blacklist a channel, a genre or a program.

Same arguments, same bytes: every random draw comes from a generator seeded by
``(seed, stream, block)``. Users are generated in blocks of
:data:`USER_BLOCK` (their subscriptions, blacklists and events with them), so
memory stays bounded at any size; the block size is a constant of the format,
so the output does not depend on anything but the arguments.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from graph.domain import CSA_LEVELS
from loaders.contract import EXTENSIONS, FILE_SPECS, FILES, Kind

DEFAULT_START = date(2025, 1, 6)
"""Monday the EPG week starts on (00:00 UTC) unless told otherwise; fixed for reproducibility."""
USER_BLOCK = 50_000
"""Users generated (and written) together; part of the output format, so never tuned per run."""
WEEK_S = 7 * 86_400
MEAN_EVENTS_PER_USER = 20.0
FORMATS = ("csv", "parquet")

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

_CSA = tuple(CSA_LEVELS)  # TP, -10, -12, -16, -18: index = level rank
_CSA_RANK = {c: i for i, c in enumerate(_CSA)}


# ------------------------------------------------------------------ the world's constants
@dataclass(frozen=True, slots=True)
class _Genre:
    id: str
    name: str
    episodic: float  # chance a program of this genre is an episode of a series
    minutes: tuple[int, int]
    csa: tuple[float, float, float, float, float]  # P(TP, -10, -12, -16, -18)
    replay: float  # chance an airing opens a replay window
    years: tuple[int, int] | None  # production years; None: no year (news, live sport)
    audience: float  # how many users like it, before profile


_GENRES = (
    _Genre("film", "Film", 0.0, (85, 150), (0.55, 0.15, 0.17, 0.09, 0.04), 0.5, (1950, 2024), 1.6),
    _Genre("serie", "Série", 0.95, (22, 55), (0.60, 0.15, 0.17, 0.08, 0.0), 0.9, (1990, 2024), 1.6),
    _Genre(
        "telefilm", "Téléfilm", 0.1, (85, 100), (0.8, 0.1, 0.1, 0.0, 0.0), 0.8, (1985, 2024), 0.6
    ),
    _Genre("sport", "Sport", 0.1, (60, 180), (1.0, 0.0, 0.0, 0.0, 0.0), 0.5, None, 1.2),
    _Genre(
        "jeunesse", "Jeunesse", 0.85, (7, 26), (1.0, 0.0, 0.0, 0.0, 0.0), 0.9, (1995, 2024), 0.4
    ),
    _Genre(
        "animation", "Animation", 0.85, (11, 26), (0.9, 0.1, 0.0, 0.0, 0.0), 0.9, (1980, 2024), 0.5
    ),
    _Genre(
        "documentaire",
        "Documentaire",
        0.35,
        (45, 95),
        (0.85, 0.1, 0.05, 0, 0),
        0.8,
        (1970, 2024),
        0.9,
    ),
    _Genre("information", "Information", 0.0, (15, 60), (1.0, 0.0, 0.0, 0.0, 0.0), 0.6, None, 1.0),
    _Genre(
        "divertissement",
        "Divertissement",
        0.4,
        (60, 150),
        (0.9, 0.1, 0, 0, 0),
        0.8,
        (2010, 2024),
        1.0,
    ),
    _Genre(
        "magazine", "Magazine", 0.6, (26, 90), (0.9, 0.1, 0.0, 0.0, 0.0), 0.8, (2015, 2024), 0.7
    ),
    _Genre(
        "musique", "Musique", 0.2, (30, 90), (0.95, 0.05, 0.0, 0.0, 0.0), 0.5, (1970, 2024), 0.6
    ),
    _Genre("concert", "Concert", 0.0, (60, 150), (1.0, 0.0, 0.0, 0.0, 0.0), 0.5, (1970, 2024), 0.4),
    _Genre("jeu", "Jeu", 0.9, (26, 55), (1.0, 0.0, 0.0, 0.0, 0.0), 0.9, (2000, 2024), 0.6),
    _Genre(
        "telerealite", "Téléréalité", 0.95, (40, 110), (0.7, 0.2, 0.1, 0, 0), 0.9, (2005, 2024), 0.6
    ),
    _Genre("cuisine", "Cuisine", 0.8, (26, 60), (1.0, 0.0, 0.0, 0.0, 0.0), 0.9, (2005, 2024), 0.5),
    _Genre("histoire", "Histoire", 0.4, (52, 100), (0.85, 0.1, 0.05, 0, 0), 0.8, (1970, 2024), 0.5),
    _Genre("nature", "Nature", 0.4, (45, 90), (1.0, 0.0, 0.0, 0.0, 0.0), 0.8, (1980, 2024), 0.5),
    _Genre("humour", "Humour", 0.3, (45, 100), (0.7, 0.15, 0.15, 0.0, 0.0), 0.8, (1985, 2024), 0.7),
    _Genre(
        "theatre", "Théâtre", 0.0, (90, 150), (0.85, 0.15, 0.0, 0.0, 0.0), 0.5, (1960, 2024), 0.3
    ),
    _Genre("debat", "Débat", 0.5, (45, 90), (1.0, 0.0, 0.0, 0.0, 0.0), 0.6, None, 0.5),
)
_GENRE_INDEX = {g.id: i for i, g in enumerate(_GENRES)}


@dataclass(frozen=True, slots=True)
class _Theme:
    id: str
    names: tuple[str, ...]  # channel names, numbered when a theme has more channels
    channels: float  # share of the channels
    catalogue: float  # share of the programs
    genres: Mapping[str, float]


_THEMES = (
    _Theme(
        "generaliste",
        ("Hexagone", "Azur", "Horizon", "Lumière", "Rivage", "Canal Nord"),
        0.15,
        0.14,
        {
            "information": 0.12,
            "divertissement": 0.2,
            "serie": 0.2,
            "film": 0.15,
            "magazine": 0.1,
            "jeu": 0.1,
            "telefilm": 0.08,
            "sport": 0.05,
        },
    ),
    _Theme(
        "information",
        ("Info Continue", "Le Fil", "Actu 24"),
        0.08,
        0.08,
        {"information": 0.7, "magazine": 0.15, "debat": 0.15},
    ),
    _Theme(
        "cinema",
        ("Ciné Étoile", "Ciné Frisson", "Ciné Club", "Grand Écran"),
        0.15,
        0.18,
        {"film": 0.85, "humour": 0.1, "theatre": 0.05},
    ),
    _Theme(
        "series",
        ("Séries Plus", "Feuilleton", "Épisode"),
        0.12,
        0.15,
        {"serie": 0.7, "telefilm": 0.2, "humour": 0.1},
    ),
    _Theme(
        "sport", ("Sport Arena", "Stade", "Podium"), 0.12, 0.08, {"sport": 0.9, "magazine": 0.1}
    ),
    _Theme(
        "jeunesse",
        ("Petits Loups", "Récré", "Cartoon Club"),
        0.1,
        0.12,
        {"jeunesse": 0.55, "animation": 0.45},
    ),
    _Theme(
        "decouverte",
        ("Découverte", "Planète Bleue", "Mémoires"),
        0.12,
        0.12,
        {"documentaire": 0.55, "histoire": 0.2, "nature": 0.25},
    ),
    _Theme("musique", ("Tempo", "Live Scène"), 0.08, 0.06, {"musique": 0.6, "concert": 0.4}),
    _Theme(
        "lifestyle",
        ("Maison & Saveurs", "Télé Réalité", "Évasion"),
        0.08,
        0.07,
        {"telerealite": 0.35, "cuisine": 0.35, "magazine": 0.15, "divertissement": 0.15},
    ),
)
_THEME_INDEX = {t.id: i for i, t in enumerate(_THEMES)}


@dataclass(frozen=True, slots=True)
class _Bundle:
    id: str
    name: str
    is_free: bool
    themes: tuple[str, ...]  # every channel of these themes
    firsts: tuple[str, ...] = ()  # plus the first channel of these themes


_BUNDLES = (
    _Bundle(
        "essentiel", "Essentiel", True, ("generaliste", "information"), ("jeunesse", "decouverte")
    ),
    _Bundle("cinema", "Cinéma Premium", False, ("cinema",)),
    _Bundle("series", "Séries", False, ("series",)),
    _Bundle("sport", "Sport Extra", False, ("sport",)),
    _Bundle("jeunesse", "Jeunesse", False, ("jeunesse",)),
    _Bundle("decouverte", "Découverte", False, ("decouverte",)),
    _Bundle("musique", "Musique", False, ("musique",)),
    _Bundle("art-de-vivre", "Art de vivre", False, ("lifestyle",)),
    _Bundle("famille", "Famille", False, ("jeunesse", "decouverte", "lifestyle")),
    _Bundle("integrale", "Intégrale", False, tuple(t.id for t in _THEMES)),
)

_PROFILES = ("adult", "kids", "teen")
_PROFILE_P = (0.75, 0.15, 0.10)
_PROFILE_CEILING = ("-18", "-10", "-12")
# Taste multipliers per profile; what is not listed stays at 1.
_PROFILE_TASTE: Mapping[str, Mapping[str, float]] = {
    "adult": {"jeunesse": 0.1, "animation": 0.4},
    "kids": {
        "jeunesse": 25.0,
        "animation": 20.0,
        "nature": 2.0,
        "film": 0.4,
        "information": 0.02,
        "debat": 0.02,
        "magazine": 0.2,
        "telerealite": 0.1,
        "serie": 0.4,
    },
    "teen": {
        "animation": 3.0,
        "serie": 2.0,
        "musique": 3.0,
        "humour": 2.0,
        "telerealite": 2.0,
        "information": 0.2,
        "debat": 0.1,
        "jeunesse": 0.3,
    },
}
_COUNTRIES = ("FR", "BE", "CH", "LU", "MC", "DE", "ES", "IT")
_COUNTRY_P = (0.9, 0.03, 0.025, 0.01, 0.005, 0.01, 0.01, 0.01)
_PAID_COUNT_P = (0.45, 0.30, 0.17, 0.08)  # P(0, 1, 2, 3 paid bundles)

_ADJECTIVES = (
    "Dernier",
    "Grand",
    "Petit",
    "Nouveau",
    "Long",
    "Vrai",
    "Beau",
    "Mauvais",
    "Premier",
    "Secret",
    "Vieux",
    "Jeune",
    "Faux",
    "Bel",
)
_NOUNS = (
    "Voyage",
    "Rivage",
    "Horizon",
    "Héritage",
    "Hiver",
    "Été",
    "Mystère",
    "Destin",
    "Silence",
    "Royaume",
    "Serment",
    "Chemin",
    "Passage",
    "Refuge",
    "Sommet",
    "Souvenir",
    "Orage",
    "Rêve",
)
_PLACES = (
    "Marseille",
    "Lyon",
    "Nantes",
    "Lille",
    "Bordeaux",
    "Toulouse",
    "Brest",
    "Lens",
    "Nice",
    "Rennes",
    "Strasbourg",
    "Montpellier",
    "Grenoble",
    "Dijon",
    "Reims",
    "Metz",
)
_SPORTS = ("Football", "Rugby", "Tennis", "Cyclisme", "Handball", "Basket", "Volley", "Athlétisme")


def _rng(seed: int, stream: int, block: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, block)))


# ------------------------------------------------------------------ result
@dataclass(slots=True)
class GenerateSummary:
    """What :func:`generate_tv` wrote: rows per file, where, and how long it took."""

    out: Path
    format: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        lines = [f"Wrote {self.out} ({self.format}) in {self.seconds:.1f} s:"]
        lines += [f"  {name:<16}{n:>12,} rows" for name, n in self.rows.items()]
        return "\n".join(lines)


# ------------------------------------------------------------------ entry point
def generate_tv(
    out: str | Path,
    *,
    users: int,
    programs: int,
    seed: int = 0,
    fmt: str = "csv",
    start: date = DEFAULT_START,
    until: datetime | None = None,
    progress: bool = True,
) -> GenerateSummary:
    """Write a synthetic data set of ``users`` users and ``programs`` programs to ``out``.

    Watches fall anywhere in the EPG week unless ``until`` (an aware datetime
    inside the week) is given: then every watch happens before it, and programs
    first available later have no watches yet. The demo passes its "now" so
    that no watch lies in the future.

    Every contract file is written as ``NAME.csv`` or ``NAME.parquet`` (``fmt``),
    replacing earlier ones. Raises ``ValueError`` for non-positive sizes, an
    unknown format, ``until`` naive or outside the week, or a folder already
    holding contract files of the other format.
    """
    if users < 1:
        raise ValueError(f"users (--users) must be >= 1, got {users}")
    if programs < 1:
        raise ValueError(f"programs (--programs) must be >= 1, got {programs}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    others = [out / f"{s.name}{e}" for s in FILES for e in EXTENSIONS if e != f".{fmt}"]
    clash = [p for p in others if p.exists()]
    if clash:
        raise ValueError(
            f"{clash[0]} exists: a folder must not hold both formats (validation would reject "
            "the file as ambiguous); remove it or choose another --out"
        )
    epoch = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    until_s = WEEK_S
    if until is not None:
        if until.tzinfo is None:
            raise ValueError(f"until must carry a time zone, got {until.isoformat()}")
        until_s = int(until.timestamp()) - epoch
        if not 0 < until_s <= WEEK_S:
            raise ValueError(
                f"until ({until.isoformat()}) must fall inside the EPG week that starts on "
                f"{start.isoformat()}"
            )
    began = time.perf_counter()
    summary = GenerateSummary(out=out, format=fmt)

    world = _Catalogue.build(programs=programs, rng=_rng(seed, 0), epoch=epoch, progress=progress)
    for name, columns in world.files().items():
        with _Writer(out, name, fmt) as w:
            w.write(columns)
        summary.rows[name] = w.rows

    writers = {n: _Writer(out, n, fmt) for n in ("users", "subscriptions", "blacklists")}
    writers["watch_events"] = _Writer(out, "watch_events", fmt)
    try:
        next_event = 0
        width = max(7, len(str(users)))
        with tqdm(total=users, unit="user", desc="users", disable=not progress) as bar:
            for block, first in enumerate(range(0, users, USER_BLOCK)):
                n = min(USER_BLOCK, users - first)
                files = _user_block(
                    world, first, n, width, next_event, _rng(seed, 1, block), until_s
                )
                for name, columns in files.items():
                    writers[name].write(columns)
                next_event += len(files["watch_events"]["event_id"])
                bar.update(n)
    finally:
        for w in writers.values():
            w.close()
    for name in ("users", "subscriptions", "blacklists", "watch_events"):
        summary.rows[name] = writers[name].rows
    summary.rows = {name: summary.rows[name] for name in FILE_SPECS}
    summary.seconds = time.perf_counter() - began
    return summary


# ------------------------------------------------------------------ catalogue
class _Pools:
    """Draw items by weight within a group, for many (group) draws at once.

    Items are laid out group by group with one global running sum of weights, so
    a single ``searchsorted`` serves every draw whatever its group.
    """

    def __init__(self, groups: IntArray, items: IntArray, weights: FloatArray, n_groups: int):
        order = np.argsort(groups, kind="stable")
        self.items = items[order]
        self.cum = np.cumsum(weights[order])
        counts = np.bincount(groups, minlength=n_groups)
        self.first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.count = counts.astype(np.int64)
        before = np.concatenate([[0.0], self.cum])
        self.low = before[self.first]
        self.high = before[self.first + self.count]

    def sample(self, groups: IntArray, rng: np.random.Generator) -> IntArray:
        """One item per entry of ``groups``; -1 where the group is empty."""
        x = self.low[groups] + rng.random(len(groups)) * (self.high[groups] - self.low[groups])
        pos = np.searchsorted(self.cum, x, side="right")
        last = self.first[groups] + self.count[groups] - 1
        pos = np.minimum(np.maximum(pos, self.first[groups]), np.maximum(last, 0))
        return np.where(self.count[groups] > 0, self.items[pos], -1)


@dataclass(slots=True)
class _Catalogue:
    """Channels, bundles, genres, series, programs and the week's availability."""

    epoch: int
    channel_theme: IntArray
    channel_names: list[str]
    channel_bundles: IntArray  # bitmask of the bundles including each channel
    channel_genre: FloatArray  # (channels, genres): what each channel shows
    series_titles: list[str]
    program_ids: np.ndarray[Any, np.dtype[np.object_]]
    channel_ids: np.ndarray[Any, np.dtype[np.object_]]
    columns: dict[str, Any]  # programs file columns
    availability: dict[str, Any]
    genre_of: IntArray  # main genre of each program
    channel_of: IntArray  # home channel of each program
    level_rank: IntArray  # CSA rank 0..4 of each program
    duration: IntArray
    watch_from: IntArray  # a window inside the week where the program can be watched
    watch_to: IntArray
    popularity: FloatArray
    pools: _WorldPools

    @property
    def n_programs(self) -> int:
        return len(self.program_ids)

    @classmethod
    def build(
        cls, *, programs: int, rng: np.random.Generator, epoch: int, progress: bool
    ) -> _Catalogue:
        n_ch = int(np.clip(round(np.sqrt(programs) / 2), 20, 150))
        channel_theme = _split_channels(n_ch)
        channel_names = []
        seen: dict[int, int] = {}
        for t in channel_theme:
            k = seen.get(int(t), 0)
            seen[int(t)] = k + 1
            names = _THEMES[t].names
            suffix = f" {k // len(names) + 1}" if k >= len(names) else ""
            channel_names.append(names[k % len(names)] + suffix)
        channel_bundles = np.zeros(n_ch, dtype=np.int64)
        for b, bundle in enumerate(_BUNDLES):
            channel_bundles[_bundle_channels(bundle, channel_theme)] |= 1 << b
        channel_genre = np.zeros((n_ch, len(_GENRES)))
        for c, t in enumerate(channel_theme):
            for g, w in _THEMES[t].genres.items():
                channel_genre[c, _GENRE_INDEX[g]] = w

        p = _make_programs(programs, channel_theme, rng)
        availability, watch_from, watch_to, kind = _schedule(p, n_ch, epoch, rng, progress)
        p["columns"]["availability"] = kind
        popularity = p["popularity"] * np.where(kind == "live", 2.0, 1.0)
        width = max(7, len(str(programs)))
        return cls(
            epoch=epoch,
            channel_theme=channel_theme,
            channel_names=channel_names,
            channel_bundles=channel_bundles,
            channel_genre=channel_genre,
            series_titles=p["series_titles"],
            program_ids=np.array([f"p{i:0{width}d}" for i in range(programs)], dtype=object),
            channel_ids=np.array([f"c{i:03d}" for i in range(n_ch)], dtype=object),
            columns=p["columns"],
            availability=availability,
            genre_of=p["genre"],
            channel_of=p["channel"],
            level_rank=p["rank"],
            duration=p["duration"],
            watch_from=watch_from,
            watch_to=watch_to,
            popularity=popularity,
            pools=_world_pools(popularity, p["rank"], p["genre"], p["channel"], channel_bundles),
        )

    def files(self) -> dict[str, dict[str, Any]]:
        """The catalogue files, as columns, in load order."""
        bundle_rows = [
            (b.id, self.channel_ids[c])
            for i, b in enumerate(_BUNDLES)
            for c in np.flatnonzero(self.channel_bundles & (1 << i))
        ]
        programs = dict(self.columns)
        programs["program_id"] = self.program_ids
        programs["series_id"] = _series_ids(programs.pop("series"))
        n_series = len(self.series_titles)
        availability = dict(self.availability)
        availability["program_id"] = self.program_ids[availability["program_id"]]
        availability["channel_id"] = self.channel_ids[availability["channel_id"]]
        availability["start"] = _times(self.epoch, availability["start"])
        availability["end"] = _times(self.epoch, availability["end"])
        return {
            "genres": {"genre_id": [g.id for g in _GENRES], "name": [g.name for g in _GENRES]},
            "channels": {"channel_id": self.channel_ids, "name": self.channel_names},
            "bundles": {
                "bundle_id": [b.id for b in _BUNDLES],
                "name": [b.name for b in _BUNDLES],
                "is_free": [b.is_free for b in _BUNDLES],
            },
            "bundle_channels": {
                "bundle_id": [r[0] for r in bundle_rows],
                "channel_id": [r[1] for r in bundle_rows],
            },
            "series": {
                "series_id": _series_ids(np.arange(n_series)),
                "title": self.series_titles,
            },
            "programs": programs,
            "availability": availability,
        }


def _split_channels(n_ch: int) -> IntArray:
    """Theme of each channel: shares rounded, every theme at least one channel."""
    shares = np.array([t.channels for t in _THEMES])
    counts = np.maximum(1, np.round(shares / shares.sum() * n_ch)).astype(np.int64)
    while counts.sum() > n_ch:
        counts[np.argmax(counts)] -= 1
    while counts.sum() < n_ch:
        counts[np.argmax(shares * n_ch - counts)] += 1
    return np.repeat(np.arange(len(_THEMES)), counts)


def _bundle_channels(bundle: _Bundle, channel_theme: IntArray) -> IntArray:
    themes = [_THEME_INDEX[t] for t in bundle.themes]
    chosen = set(np.flatnonzero(np.isin(channel_theme, themes)).tolist())
    for t in bundle.firsts:
        chosen.add(int(np.flatnonzero(channel_theme == _THEME_INDEX[t])[0]))
    return np.array(sorted(chosen), dtype=np.int64)


def _series_ids(index: Any) -> np.ndarray[Any, np.dtype[np.object_]]:
    return np.array([f"s{i:06d}" if i >= 0 else None for i in index], dtype=object)


def _times(epoch: int, seconds: IntArray) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """Seconds from the week's start -> UTC ``datetime64[s]`` (NaT where negative-sentinel)."""
    return (np.asarray(seconds, dtype=np.int64) + epoch).astype("datetime64[s]")


def _choice_rows(cum: FloatArray, rows: IntArray, rng: np.random.Generator) -> IntArray:
    """For each entry of ``rows``, a column drawn from that row of row-wise cumulative weights.

    Each row is rescaled to end at 1 and shifted by its row number, so all rows form
    one increasing array and one ``searchsorted`` draws for every entry.
    """
    n_rows, n_cols = cum.shape
    flat = (cum / cum[:, -1:] + np.arange(n_rows)[:, None]).ravel()
    pos = np.searchsorted(flat, rows + rng.random(len(rows)), side="right")
    column: IntArray = np.minimum(pos - rows * n_cols, n_cols - 1).astype(np.int64)
    return column


def _make_programs(m: int, channel_theme: IntArray, rng: np.random.Generator) -> dict[str, Any]:
    n_g = len(_GENRES)
    catalogue = np.array([t.catalogue for t in _THEMES])
    theme = rng.choice(len(_THEMES), size=m, p=catalogue / catalogue.sum())
    # A uniform channel among the theme's channels.
    by_theme = [np.flatnonzero(channel_theme == t) for t in range(len(_THEMES))]
    sizes = np.array([len(c) for c in by_theme])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat_channels = np.concatenate(by_theme)
    channel = flat_channels[offsets[theme] + (rng.random(m) * sizes[theme]).astype(np.int64)]

    theme_genre = np.zeros((len(_THEMES), n_g))
    for t, th in enumerate(_THEMES):
        for g, w in th.genres.items():
            theme_genre[t, _GENRE_INDEX[g]] = w
    cum = np.cumsum(theme_genre, axis=1)
    genre = _choice_rows(cum, theme, rng)
    second = _choice_rows(cum, theme, rng)
    has_second = (rng.random(m) < 0.25) & (second != genre)

    episodic = rng.random(m) < np.array([g.episodic for g in _GENRES])[genre]
    csa_p = np.array([g.csa for g in _GENRES])
    rank = _choice_rows(np.cumsum(csa_p, axis=1), genre, rng)
    # -18 is only allowed on cinema channels (and only airs at night, see _schedule).
    rank = np.where((rank == 4) & (theme != _THEME_INDEX["cinema"]), 3, rank)
    lo = np.array([g.minutes[0] for g in _GENRES])[genre]
    hi = np.array([g.minutes[1] for g in _GENRES])[genre]
    minutes = lo + (rng.random(m) * (hi - lo + 1)).astype(np.int64)
    minutes = np.where(minutes >= 40, (minutes // 5) * 5, minutes)
    year_lo = np.array([g.years[0] if g.years else 0 for g in _GENRES])[genre]
    year_hi = np.array([g.years[1] if g.years else 0 for g in _GENRES])[genre]
    # Recent productions dominate the schedule: years fall off exponentially with age.
    year = np.maximum(year_lo, year_hi - rng.exponential(12.0, m).astype(np.int64))

    # Episodes of one channel and genre, in a shuffled order, are cut into series of
    # ~10 episodes; a series' first episode sets its rating, duration and start year.
    series = np.full(m, -1, dtype=np.int64)
    season = np.zeros(m, dtype=np.int64)
    episode = np.zeros(m, dtype=np.int64)
    eps = np.flatnonzero(episodic)
    eps = eps[np.lexsort((rng.random(len(eps)), genre[eps], channel[eps]))]
    series_titles: list[str] = []
    if len(eps):
        group = channel[eps] * n_g + genre[eps]
        starts = np.ones(len(eps), dtype=bool)
        starts[1:] = (group[1:] != group[:-1]) | (rng.random(len(eps) - 1) < 0.1)
        sid = np.cumsum(starts) - 1
        head = eps[np.flatnonzero(starts)]
        position = np.arange(len(eps)) - np.flatnonzero(starts)[sid]
        per_season = rng.integers(6, 14, size=len(head))[sid]
        series[eps] = sid
        season[eps] = position // per_season + 1
        episode[eps] = position % per_season + 1
        rank[eps] = rank[head][sid]
        minutes[eps] = minutes[head][sid]
        year[eps] = np.minimum(year[head][sid] + season[eps] - 1, year_hi[eps])
        series_titles = _titles(genre[head], rng, series=True)
    if not (rank == 0).any():
        rank[0] = 0  # kids must have something to watch, even in a tiny catalogue

    titles = np.array(_titles(genre, rng, series=False), dtype=object)
    if len(eps):
        head_titles = np.array(series_titles, dtype=object)[series[eps]]
        titles[eps] = [
            f"{t} S{s:02d}E{e:02d}"
            for t, s, e in zip(head_titles, season[eps], episode[eps], strict=True)
        ]
    genre_ids = np.array([g.id for g in _GENRES], dtype=object)
    genres = np.where(has_second, genre_ids[genre] + "|" + genre_ids[second], genre_ids[genre])
    has_year = np.array([g.years is not None for g in _GENRES])[genre]
    popularity = 1.0 / (rng.permutation(m) + 1.0)  # Zipf, exponent 1
    return {
        "columns": {
            "title": titles,
            "genres": genres,
            "csa": np.array(_CSA, dtype=object)[rank],
            "duration_s": minutes * 60,
            "year": pd.Series(year, dtype="Int64").where(has_year),
            "series": series,
            "season": pd.Series(season, dtype="Int64").where(series >= 0),
            "episode": pd.Series(episode, dtype="Int64").where(series >= 0),
        },
        "series_titles": series_titles,
        "genre": genre,
        "channel": channel,
        "rank": rank,
        "duration": minutes * 60,
        "popularity": popularity,
        "vod_only": rng.random(m) < np.where(_GENRE_INDEX["film"] == genre, 0.35, 0.15),
        # Aired last week, so only on replay now (when its genre has replays).
        "last_week": rng.random(m) < 0.1,
        "replay_p": np.array([g.replay for g in _GENRES])[genre],
    }


def _titles(genre: IntArray, rng: np.random.Generator, *, series: bool) -> list[str]:
    n = len(genre)
    a = rng.integers(0, len(_ADJECTIVES), n)
    b = rng.integers(0, len(_NOUNS), n)
    c = rng.integers(0, len(_PLACES), n)
    d = rng.integers(0, len(_PLACES), n)
    s = rng.integers(0, len(_SPORTS), n)
    form = rng.integers(0, 3, n)
    out = []
    for i in range(n):
        g = _GENRES[genre[i]].id
        if g == "sport":
            out.append(
                f"{_SPORTS[s[i]]} : {_PLACES[c[i]]} - {_PLACES[(c[i] + 1 + d[i] % 15) % 16]}"
            )
        elif g == "information":
            out.append(f"Le Journal de {_PLACES[c[i]]}" if series else f"Journal {c[i] + 6}h")
        elif series and form[i] == 0:
            out.append(f"Les {_NOUNS[b[i]]}s de {_PLACES[c[i]]}")
        elif form[i] == 1:
            out.append(f"{_NOUNS[b[i]]} à {_PLACES[c[i]]}")
        else:
            out.append(f"Le {_ADJECTIVES[a[i]]} {_NOUNS[b[i]]}")
    return out


def _schedule(
    p: dict[str, Any], n_ch: int, epoch: int, rng: np.random.Generator, progress: bool
) -> tuple[dict[str, Any], IntArray, IntArray, np.ndarray[Any, np.dtype[np.object_]]]:
    """The week's EPG, replay and VOD windows; and, per program, a window to watch it in."""
    m = len(p["rank"])
    channel, rank, duration = p["channel"], p["rank"], p["duration"]
    airable = ~p["vod_only"] & ~p["last_week"]
    air_program: list[int] = []
    air_start: list[int] = []
    for c in tqdm(range(n_ch), desc="EPG", unit="channel", disable=not progress, leave=False):
        pool = np.flatnonzero((channel == c) & airable)
        pool = pool[rng.permutation(len(pool))]
        # Day: ratings up to -12; from 22:00, -16 too; 00:00-05:00, -18 too.
        queues = [pool[rank[pool] <= 2], pool[rank[pool] == 3], pool[rank[pool] == 4]]
        cursor = [0, 0, 0]
        draws = rng.random(4096)
        t, k = 0, 0
        while t < WEEK_S:
            hour = (t // 3600) % 24
            late = hour >= 22 or hour < 5
            choice = 0
            if late and draws[k % 4096] < 0.5:
                choice = 2 if hour < 5 and len(queues[2]) and draws[(k + 1) % 4096] < 0.5 else 1
            k += 2
            queue = queues[choice] if len(queues[choice]) else queues[0]
            if not len(queue):
                t += 1800  # nothing suitable to air: the channel shows its idents
                continue
            program = int(queue[cursor[choice] % len(queue)])
            cursor[choice] += 1
            air_program.append(program)
            air_start.append(t)
            t += int(duration[program])
            t = -(-t // 300) * 300  # the next program starts on a 5-minute mark

    ap = np.array(air_program, dtype=np.int64)
    ast = np.array(air_start, dtype=np.int64)
    aend = ast + duration[ap]
    has_replay = rng.random(len(ap)) < p["replay_p"][ap]
    aired = np.zeros(m, dtype=bool)
    aired[ap] = True
    first_start = np.full(m, WEEK_S, dtype=np.int64)
    np.minimum.at(first_start, ap, ast)
    # The first airing and its replay (when it has one) form one watchable span.
    first = np.flatnonzero(ast == first_start[ap])
    first = first[np.unique(ap[first], return_index=True)[1]]
    span_end = np.zeros(m, dtype=np.int64)
    span_end[ap[first]] = np.where(has_replay[first], aend[first] + WEEK_S, aend[first])

    rest = np.flatnonzero(~aired)
    is_replay = ~p["vod_only"][rest] & (rng.random(len(rest)) < p["replay_p"][rest])
    r_start = -(rng.integers(1, 6 * 24, len(rest)) * 3600)
    v_start = -(rng.integers(1, 90, len(rest)) * 86_400)
    v_end = WEEK_S + rng.integers(7, 180, len(rest)) * 86_400
    o_start = np.where(is_replay, r_start, v_start)
    o_end = np.where(is_replay, r_start + WEEK_S, v_end)

    kind = np.full(m, "vod", dtype=object)
    kind[rest[is_replay]] = "replay"
    kind[aired] = "live"
    watch_from = np.zeros(m, dtype=np.int64)
    watch_to = np.full(m, WEEK_S, dtype=np.int64)
    watch_from[aired] = first_start[aired]
    watch_to[aired] = np.minimum(span_end[aired], WEEK_S)
    watch_from[rest] = np.maximum(o_start, 0)
    watch_to[rest] = np.minimum(o_end, WEEK_S)

    rp = ap[has_replay]
    columns = {
        "program_id": np.concatenate([ap, rp, rest]),
        "channel_id": np.concatenate([channel[ap], channel[rp], channel[rest]]),
        "start": np.concatenate([ast, aend[has_replay], o_start]),
        "end": np.concatenate([aend, aend[has_replay] + WEEK_S, o_end]),
        "kind": np.concatenate(
            [
                np.full(len(ap), "live", dtype=object),
                np.full(len(rp), "replay", dtype=object),
                np.where(is_replay, "replay", "vod").astype(object),
            ]
        ),
    }
    return columns, watch_from, watch_to, kind


# ------------------------------------------------------------------ users and events
def _user_block(
    world: _Catalogue,
    first: int,
    n: int,
    width: int,
    next_event: int,
    rng: np.random.Generator,
    until_s: int = WEEK_S,
) -> dict[str, dict[str, Any]]:
    n_g, n_ch, n_b = len(_GENRES), len(world.channel_ids), len(_BUNDLES)
    user_ids = np.array([f"u{i:0{width}d}" for i in range(first, first + n)], dtype=object)
    country = rng.choice(len(_COUNTRIES), size=n, p=_COUNTRY_P)
    profile = rng.choice(len(_PROFILES), size=n, p=_PROFILE_P)
    ceiling = np.array([_CSA_RANK[c] for c in _PROFILE_CEILING])[profile]

    # Taste over genres: gamma draws (a Dirichlet per user) around the profile's audience.
    alpha = (
        np.array(
            [[g.audience * _PROFILE_TASTE[pr].get(g.id, 1.0) for g in _GENRES] for pr in _PROFILES]
        )
        * 0.4
    )
    taste = rng.gamma(alpha[profile])
    taste = (taste + 1e-9) / (taste + 1e-9).sum(axis=1, keepdims=True)

    # Paid bundles: 0-3, chosen by how well their channels match the taste (Gumbel top-k).
    bundle_genre = np.array(
        [
            world.channel_genre[(world.channel_bundles >> b) & 1 == 1].mean(axis=0)
            for b in range(n_b)
        ]
    )
    paid = np.array([not b.is_free for b in _BUNDLES])
    free_mask = int(sum(1 << b for b in range(n_b) if not paid[b]))
    affinity = np.log(taste @ bundle_genre.T + 1e-12) + rng.gumbel(size=(n, n_b))
    affinity[:, ~paid] = -np.inf
    ranked = np.argsort(-affinity, axis=1)
    k_paid = rng.choice(len(_PAID_COUNT_P), size=n, p=_PAID_COUNT_P)
    active = np.arange(n_b)[None, :] < k_paid[:, None]  # by rank position
    mask = np.full(n, free_mask, dtype=np.int64)
    for j in range(3):
        mask |= np.where(active[:, j], 1 << ranked[:, j], 0)

    sub_user: list[IntArray] = [np.arange(n)]
    sub_bundle: list[IntArray] = [np.zeros(n, dtype=np.int64) + int(np.flatnonzero(~paid)[0])]
    since_days = rng.integers(1, 3 * 365, n)
    sub_since: list[IntArray] = [-since_days * 86_400]
    sub_until: list[IntArray] = [np.full(n, np.iinfo(np.int64).min)]
    for j in range(3):
        rows = np.flatnonzero(active[:, j])
        sub_user.append(rows)
        sub_bundle.append(ranked[rows, j])
        sub_since.append(
            -rng.integers(1, 2 * 365, len(rows)) * 86_400 - rng.integers(0, 86_400, len(rows))
        )
        ends = rng.random(len(rows)) < 0.2  # a cancellation already scheduled after the week
        until = WEEK_S + rng.integers(1, 180, len(rows)) * 86_400
        sub_until.append(np.where(ends, until, np.iinfo(np.int64).min))
    # Some users once held a paid bundle they no longer have.
    lapsed = np.flatnonzero(rng.random(n) < 0.1)
    old_bundle = ranked[lapsed, 3]
    old_since = -rng.integers(365, 3 * 365, len(lapsed)) * 86_400
    sub_user.append(lapsed)
    sub_bundle.append(old_bundle)
    sub_since.append(old_since)
    sub_until.append(old_since + rng.integers(30, 300, len(lapsed)) * 86_400)

    # A favourite channel among those the user can watch, by taste.
    can_watch = (world.channel_bundles[None, :] & mask[:, None]) != 0
    fav_w = (taste @ world.channel_genre.T) * can_watch + 1e-12
    favourite = _choice_rows(np.cumsum(fav_w, axis=1), np.arange(n), rng)

    counts = np.minimum(
        np.floor(rng.lognormal(np.log(MEAN_EVENTS_PER_USER + 0.5) - 0.5, 1.0, n)), 2000
    ).astype(np.int64)
    who = np.repeat(np.arange(n), counts)
    programs = _pick_programs(world, who, taste, favourite, ceiling, mask, rng)

    g = world.genre_of[programs]
    like = taste[who, g] * n_g  # 1 = an average genre for this user
    base = rng.beta(2.0, 2.5, len(who))
    completion = np.clip(base + 0.2 * np.log(like) + rng.normal(0, 0.1, len(who)), 0.01, 1.0)
    finished = rng.random(len(who)) < 0.1 + 0.4 / (1.0 + np.exp(-np.log(like)))
    completion = np.round(np.where(finished, 1.0, completion), 4)
    duration = world.duration[programs]
    # Watches happen before until_s; one drawn for a program not yet available is dropped
    # after every draw, so the other draws (and the files without until) stay the same.
    watch_to = np.minimum(world.watch_to[programs], until_s)
    span = watch_to - world.watch_from[programs]
    ts = world.watch_from[programs] + (rng.random(len(who)) * span).astype(np.int64)
    order = np.lexsort((ts, who))
    order = order[world.watch_from[programs[order]] < until_s]
    who, programs, ts, completion = who[order], programs[order], ts[order], completion[order]
    duration = duration[order]

    events = {
        "event_id": np.array(
            [f"e{i:011d}" for i in range(next_event, next_event + len(who))], dtype=object
        ),
        "user_id": user_ids[who],
        "program_id": world.program_ids[programs],
        "channel_id": world.channel_ids[world.channel_of[programs]],
        "ts": _times(world.epoch, ts),
        "watched_s": np.round(completion * duration).astype(np.int64),
        "completion": completion,
    }

    bl_users = np.flatnonzero(rng.random(n) < 0.03)
    bl_count = rng.integers(1, 4, len(bl_users))
    bl_who = np.repeat(bl_users, bl_count)
    bl_type = rng.choice(3, size=len(bl_who), p=(0.3, 0.4, 0.3))  # program, channel, genre
    pop_cum = np.cumsum(world.popularity)
    bl_program = np.searchsorted(pop_cum, rng.random(len(bl_who)) * pop_cum[-1], side="right")
    bl_program = np.minimum(bl_program, world.n_programs - 1)
    genre_ids = np.array([gg.id for gg in _GENRES], dtype=object)
    targets = np.where(
        bl_type == 0,
        world.program_ids[bl_program],
        np.where(
            bl_type == 1,
            world.channel_ids[rng.integers(0, n_ch, len(bl_who))],
            genre_ids[rng.integers(0, n_g, len(bl_who))],
        ),
    )
    blacklists = pd.DataFrame(
        {
            "user_id": user_ids[bl_who],
            "target_type": np.array(["program", "channel", "genre"], dtype=object)[bl_type],
            "target_id": targets,
        }
    ).drop_duplicates()

    s_user = np.concatenate(sub_user)
    s_order = np.lexsort((np.concatenate(sub_since), s_user))
    s_until = np.concatenate(sub_until)[s_order]
    open_ended = s_until == np.iinfo(np.int64).min
    until_times = _times(world.epoch, np.where(open_ended, 0, s_until))
    until_times[open_ended] = np.datetime64("NaT")
    bundle_ids = np.array([b.id for b in _BUNDLES], dtype=object)
    return {
        "users": {
            "user_id": user_ids,
            "country": np.array(_COUNTRIES, dtype=object)[country],
            "profile": np.array(_PROFILES, dtype=object)[profile],
            "csa_ceiling": np.array(_PROFILE_CEILING, dtype=object)[profile],
        },
        "subscriptions": {
            "user_id": user_ids[s_user[s_order]],
            "bundle_id": bundle_ids[np.concatenate(sub_bundle)[s_order]],
            "since": _times(world.epoch, np.concatenate(sub_since)[s_order]),
            "until": until_times,
        },
        "blacklists": {c: blacklists[c].to_numpy() for c in blacklists.columns},
        "watch_events": events,
    }


def _pick_programs(
    world: _Catalogue,
    who: IntArray,
    taste: FloatArray,
    favourite: IntArray,
    ceiling: IntArray,
    mask: IntArray,
    rng: np.random.Generator,
) -> IntArray:
    """One program per event: by the user's genre taste (75 %) or from their favourite
    channel (25 %), by popularity, within their CSA ceiling and (mostly) their bundles."""
    pools = world.pools
    levels = len(_CSA)
    level = ceiling[who]
    from_channel = rng.random(len(who)) < 0.25

    def draw(idx: IntArray) -> IntArray:
        genre = _choice_rows(np.cumsum(taste, axis=1), who[idx], rng)
        by_genre = pools.genre.sample(genre * levels + level[idx], rng)
        by_channel = pools.channel.sample(favourite[who[idx]] * levels + level[idx], rng)
        picked = np.where(from_channel[idx], by_channel, by_genre)
        fallback = pools.level.sample(level[idx], rng)
        return np.where(picked >= 0, picked, fallback)

    picked = draw(np.arange(len(who)))
    preview = rng.random(len(who)) < 0.01  # a channel open to all for a day ("en clair")

    def denied() -> IntArray:
        locked = (world.channel_bundles[world.channel_of[picked]] & mask[who]) == 0
        return np.flatnonzero(locked & ~preview)

    # Redraw what the user cannot watch; a few stubborn draws fall back to free channels.
    for _ in range(4):
        retry = denied()
        if not len(retry):
            break
        picked[retry] = draw(retry)
    retry = denied()
    if len(retry):
        free = pools.free.sample(level[retry], rng)
        picked[retry] = np.where(free >= 0, free, picked[retry])
    return picked


@dataclass(slots=True)
class _WorldPools:
    """Programs by (main genre, ceiling), (channel, ceiling), ceiling, and free-to-air."""

    genre: _Pools
    channel: _Pools
    level: _Pools
    free: _Pools


def _world_pools(
    popularity: FloatArray,
    level_rank: IntArray,
    genre_of: IntArray,
    channel_of: IntArray,
    channel_bundles: IntArray,
) -> _WorldPools:
    levels = len(_CSA)
    n = len(popularity)
    # A program belongs to the pool of every ceiling at or above its rating.
    lv = np.concatenate([np.full(n, k) for k in range(levels)])
    item = np.tile(np.arange(n), levels)
    ok = level_rank[item] <= lv
    lv, item = lv[ok], item[ok]
    w = popularity[item]
    free_bundles = sum(1 << b for b, x in enumerate(_BUNDLES) if x.is_free)
    on_free = (channel_bundles[channel_of[item]] & free_bundles) != 0
    n_ch = len(channel_bundles)
    return _WorldPools(
        genre=_Pools(genre_of[item] * levels + lv, item, w, len(_GENRES) * levels),
        channel=_Pools(channel_of[item] * levels + lv, item, w, n_ch * levels),
        level=_Pools(lv, item, w, levels),
        free=_Pools(lv[on_free], item[on_free], w[on_free], levels),
    )


# ------------------------------------------------------------------ writing
class _Writer:
    """Appends column blocks to ``NAME.csv`` / ``NAME.parquet`` through a temporary file.

    The file only takes its final name when closed, so an interrupted run never
    leaves a truncated file that looks complete.
    """

    def __init__(self, out: Path, name: str, fmt: str) -> None:
        self.spec = FILE_SPECS[name]
        self.path = out / f"{name}.{fmt}"
        self.tmp = out / f".{name}.{fmt}.partial"
        self.fmt = fmt
        self.rows = 0
        self._csv: Any = None
        self._parquet: Any = None
        self._schema: Any = None
        self._closed = False

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, columns: Mapping[str, Any]) -> None:
        names = self.spec.column_names
        n = len(columns[names[0]])
        if self.fmt == "csv":
            frame = pd.DataFrame(
                {c.name: _csv_column(c.kind, columns[c.name]) for c in self.spec.columns}
            )
            if self._csv is None:
                self._csv = self.tmp.open("w", encoding="utf-8", newline="")
            frame.to_csv(self._csv, index=False, header=self.rows == 0, lineterminator="\n")
        else:
            import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no stubs
            import pyarrow.parquet as pq  # type: ignore[import-untyped]

            if self._schema is None:
                self._schema = pa.schema(
                    [(c.name, _arrow_type(pa, c.kind)) for c in self.spec.columns]
                )
                self._parquet = pq.ParquetWriter(self.tmp, self._schema)
            arrays = [
                pa.array(
                    _parquet_column(c.kind, columns[c.name]),
                    type=self._schema.field(c.name).type,
                    from_pandas=True,
                )
                for c in self.spec.columns
            ]
            self._parquet.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        self.rows += n

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.fmt == "csv":
            if self._csv is None:  # no rows: still a valid file with its header
                self.tmp.write_text(",".join(self.spec.column_names) + "\n", encoding="utf-8")
            else:
                self._csv.close()
        else:
            if self._parquet is None:
                self.write({c: [] for c in self.spec.column_names})
            self._parquet.close()
        self.tmp.replace(self.path)


def _arrow_type(pa: Any, kind: Kind) -> Any:
    """Parquet column type of a contract type (genres stay ``a|b`` text, as in CSV)."""
    if kind is Kind.INT:
        return pa.int64()
    if kind is Kind.FLOAT:
        return pa.float64()
    if kind is Kind.BOOL:
        return pa.bool_()
    if kind is Kind.DATETIME:
        return pa.timestamp("s", tz="UTC")
    return pa.string()


def _csv_column(kind: Kind, values: Any) -> Any:
    if kind is Kind.DATETIME:
        arr = np.asarray(values, dtype="datetime64[s]")
        text = np.char.add(np.datetime_as_string(arr, unit="s"), "Z").astype(object)
        text[np.isnat(arr)] = ""
        return text
    if kind is Kind.BOOL:
        return np.where(np.asarray(values, dtype=bool), "true", "false")
    return values


def _parquet_column(kind: Kind, values: Any) -> Any:
    if kind is Kind.DATETIME:
        return np.asarray(values, dtype="datetime64[s]")
    if isinstance(values, pd.Series):
        return values
    return values if isinstance(values, np.ndarray) else list(values)


def parse_start(text: str) -> date:
    """``--start``: an ISO date (``2025-01-06``); raises ``ValueError`` naming the option."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--start must be a date like 2025-01-06, got {text!r}") from None
