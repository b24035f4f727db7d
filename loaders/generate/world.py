"""The synthetic world's constants: genres, themes, bundles, profiles, names; and the
seeded random streams and weighted draws every part of the generator uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from graph.domain import CSA_LEVELS

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

CSA = tuple(CSA_LEVELS)  # TP, -10, -12, -16, -18: index = level rank
CSA_RANK = {c: i for i, c in enumerate(CSA)}


# ------------------------------------------------------------------ the world's constants
@dataclass(frozen=True, slots=True)
class Genre:
    id: str
    name: str
    episodic: float  # chance a program of this genre is an episode of a series
    minutes: tuple[int, int]
    csa: tuple[float, float, float, float, float]  # P(TP, -10, -12, -16, -18)
    replay: float  # chance an airing opens a replay window
    years: tuple[int, int] | None  # production years; None: no year (news, live sport)
    audience: float  # how many users like it, before profile


GENRES = (
    Genre("film", "Film", 0.0, (85, 150), (0.55, 0.15, 0.17, 0.09, 0.04), 0.5, (1950, 2024), 1.6),
    Genre("serie", "Série", 0.95, (22, 55), (0.60, 0.15, 0.17, 0.08, 0.0), 0.9, (1990, 2024), 1.6),
    Genre(
        "telefilm", "Téléfilm", 0.1, (85, 100), (0.8, 0.1, 0.1, 0.0, 0.0), 0.8, (1985, 2024), 0.6
    ),
    Genre("sport", "Sport", 0.1, (60, 180), (1.0, 0.0, 0.0, 0.0, 0.0), 0.5, None, 1.2),
    Genre("jeunesse", "Jeunesse", 0.85, (7, 26), (1.0, 0.0, 0.0, 0.0, 0.0), 0.9, (1995, 2024), 0.4),
    Genre(
        "animation", "Animation", 0.85, (11, 26), (0.9, 0.1, 0.0, 0.0, 0.0), 0.9, (1980, 2024), 0.5
    ),
    Genre(
        "documentaire",
        "Documentaire",
        0.35,
        (45, 95),
        (0.85, 0.1, 0.05, 0, 0),
        0.8,
        (1970, 2024),
        0.9,
    ),
    Genre("information", "Information", 0.0, (15, 60), (1.0, 0.0, 0.0, 0.0, 0.0), 0.6, None, 1.0),
    Genre(
        "divertissement",
        "Divertissement",
        0.4,
        (60, 150),
        (0.9, 0.1, 0, 0, 0),
        0.8,
        (2010, 2024),
        1.0,
    ),
    Genre("magazine", "Magazine", 0.6, (26, 90), (0.9, 0.1, 0.0, 0.0, 0.0), 0.8, (2015, 2024), 0.7),
    Genre("musique", "Musique", 0.2, (30, 90), (0.95, 0.05, 0.0, 0.0, 0.0), 0.5, (1970, 2024), 0.6),
    Genre("concert", "Concert", 0.0, (60, 150), (1.0, 0.0, 0.0, 0.0, 0.0), 0.5, (1970, 2024), 0.4),
    Genre("jeu", "Jeu", 0.9, (26, 55), (1.0, 0.0, 0.0, 0.0, 0.0), 0.9, (2000, 2024), 0.6),
    Genre(
        "telerealite", "Téléréalité", 0.95, (40, 110), (0.7, 0.2, 0.1, 0, 0), 0.9, (2005, 2024), 0.6
    ),
    Genre("cuisine", "Cuisine", 0.8, (26, 60), (1.0, 0.0, 0.0, 0.0, 0.0), 0.9, (2005, 2024), 0.5),
    Genre("histoire", "Histoire", 0.4, (52, 100), (0.85, 0.1, 0.05, 0, 0), 0.8, (1970, 2024), 0.5),
    Genre("nature", "Nature", 0.4, (45, 90), (1.0, 0.0, 0.0, 0.0, 0.0), 0.8, (1980, 2024), 0.5),
    Genre("humour", "Humour", 0.3, (45, 100), (0.7, 0.15, 0.15, 0.0, 0.0), 0.8, (1985, 2024), 0.7),
    Genre(
        "theatre", "Théâtre", 0.0, (90, 150), (0.85, 0.15, 0.0, 0.0, 0.0), 0.5, (1960, 2024), 0.3
    ),
    Genre("debat", "Débat", 0.5, (45, 90), (1.0, 0.0, 0.0, 0.0, 0.0), 0.6, None, 0.5),
)
GENRE_INDEX = {g.id: i for i, g in enumerate(GENRES)}


@dataclass(frozen=True, slots=True)
class Theme:
    id: str
    names: tuple[str, ...]  # channel names, numbered when a theme has more channels
    channels: float  # share of the channels
    catalogue: float  # share of the programs
    genres: Mapping[str, float]


THEMES = (
    Theme(
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
    Theme(
        "information",
        ("Info Continue", "Le Fil", "Actu 24"),
        0.08,
        0.08,
        {"information": 0.7, "magazine": 0.15, "debat": 0.15},
    ),
    Theme(
        "cinema",
        ("Ciné Étoile", "Ciné Frisson", "Ciné Club", "Grand Écran"),
        0.15,
        0.18,
        {"film": 0.85, "humour": 0.1, "theatre": 0.05},
    ),
    Theme(
        "series",
        ("Séries Plus", "Feuilleton", "Épisode"),
        0.12,
        0.15,
        {"serie": 0.7, "telefilm": 0.2, "humour": 0.1},
    ),
    Theme("sport", ("Sport Arena", "Stade", "Podium"), 0.12, 0.08, {"sport": 0.9, "magazine": 0.1}),
    Theme(
        "jeunesse",
        ("Petits Loups", "Récré", "Cartoon Club"),
        0.1,
        0.12,
        {"jeunesse": 0.55, "animation": 0.45},
    ),
    Theme(
        "decouverte",
        ("Découverte", "Planète Bleue", "Mémoires"),
        0.12,
        0.12,
        {"documentaire": 0.55, "histoire": 0.2, "nature": 0.25},
    ),
    Theme("musique", ("Tempo", "Live Scène"), 0.08, 0.06, {"musique": 0.6, "concert": 0.4}),
    Theme(
        "lifestyle",
        ("Maison & Saveurs", "Télé Réalité", "Évasion"),
        0.08,
        0.07,
        {"telerealite": 0.35, "cuisine": 0.35, "magazine": 0.15, "divertissement": 0.15},
    ),
)
THEME_INDEX = {t.id: i for i, t in enumerate(THEMES)}


@dataclass(frozen=True, slots=True)
class Bundle:
    id: str
    name: str
    is_free: bool
    themes: tuple[str, ...]  # every channel of these themes
    firsts: tuple[str, ...] = ()  # plus the first channel of these themes


BUNDLES = (
    Bundle(
        "essentiel", "Essentiel", True, ("generaliste", "information"), ("jeunesse", "decouverte")
    ),
    Bundle("cinema", "Cinéma Premium", False, ("cinema",)),
    Bundle("series", "Séries", False, ("series",)),
    Bundle("sport", "Sport Extra", False, ("sport",)),
    Bundle("jeunesse", "Jeunesse", False, ("jeunesse",)),
    Bundle("decouverte", "Découverte", False, ("decouverte",)),
    Bundle("musique", "Musique", False, ("musique",)),
    Bundle("art-de-vivre", "Art de vivre", False, ("lifestyle",)),
    Bundle("famille", "Famille", False, ("jeunesse", "decouverte", "lifestyle")),
    Bundle("integrale", "Intégrale", False, tuple(t.id for t in THEMES)),
)

USER_PROFILES = ("adult", "kids", "teen")
PROFILE_P = (0.75, 0.15, 0.10)
PROFILE_CEILING = ("-18", "-10", "-12")
# Taste multipliers per profile; what is not listed stays at 1.
PROFILE_TASTE: Mapping[str, Mapping[str, float]] = {
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
COUNTRIES = ("FR", "BE", "CH", "LU", "MC", "DE", "ES", "IT")
COUNTRY_P = (0.9, 0.03, 0.025, 0.01, 0.005, 0.01, 0.01, 0.01)
PAID_COUNT_P = (0.45, 0.30, 0.17, 0.08)  # P(0, 1, 2, 3 paid bundles)

ADJECTIVES = (
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
NOUNS = (
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
PLACES = (
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
SPORTS = ("Football", "Rugby", "Tennis", "Cyclisme", "Handball", "Basket", "Volley", "Athlétisme")


def seeded_rng(seed: int, stream: int, block: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, block)))


class Pools:
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


def week_times(epoch: int, seconds: IntArray) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """Seconds from the week's start -> UTC ``datetime64[s]`` (NaT where negative-sentinel)."""
    return (np.asarray(seconds, dtype=np.int64) + epoch).astype("datetime64[s]")


def choice_rows(cum: FloatArray, rows: IntArray, rng: np.random.Generator) -> IntArray:
    """For each entry of ``rows``, a column drawn from that row of row-wise cumulative weights.

    Each row is rescaled to end at 1 and shifted by its row number, so all rows form
    one increasing array and one ``searchsorted`` draws for every entry.
    """
    n_rows, n_cols = cum.shape
    flat = (cum / cum[:, -1:] + np.arange(n_rows)[:, None]).ravel()
    pos = np.searchsorted(flat, rows + rng.random(len(rows)), side="right")
    column: IntArray = np.minimum(pos - rows * n_cols, n_cols - 1).astype(np.int64)
    return column
