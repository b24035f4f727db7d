"""The simulated users: hidden tastes from the generator's truth file, and how they act.

Each simulated user is a user of the synthetic data set, with the latent taste the
generator drew for them (``user_truth.csv``, written next to the data by
``loaders/generate.py`` and never loaded into the graph): a share of interest per
genre (a Dirichlet draw around their profile's audience) and a favourite channel.
The model of what they do reuses the generator's own rules wherever it has one:

* **How much they like a program**: ``like = n_genres x taste[main genre]``, the
  generator's ``like`` (1 for a genre of average interest to that user).
* **Sessions**: each simulated day a user opens the app ``Poisson(SESSIONS_PER_DAY)``
  times (at most once an hour), at hours drawn from :data:`HOUR_WEIGHTS` (evening
  peak), and asks for the home rail. ``SESSIONS_PER_DAY`` (1.5) is about the
  generator's ~20 watches per user per week at one play per session or so.
* **Picking** (a cascade model): the user reads the rail from the top; an item
  they look at is chosen with probability ``like / (like + HALF_LIKE)``; an item not
  chosen, they read on to the next with probability ``CONTINUE``. So an item's chance
  to be picked falls with its position (position bias) and rises with taste.
  After a watch they read on for another with probability ``ANOTHER``.
* **Watching**: the completion is the generator's draw, ``clip(Beta(2, 2.5) +
  0.2 ln(like) + N(0, 0.1), 0.01, 1)``, and the watch is finished (completion 1)
  with probability ``0.1 + 0.4 sigmoid(ln like)``. A completion below
  ``SKIP_BELOW`` is posted as a ``skip``; the rest as a ``watch``, so low-taste picks
  are abandoned (fatigue sees them) and high-taste ones completed.

Nothing here is fitted to a result: the constants are set once, above any
experiment, and docs/experiments.md states them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

TRUTH_FILE = "user_truth.csv"
SESSIONS_PER_DAY = 1.5
HALF_LIKE = 3.0
CONTINUE = 0.85
ANOTHER = 0.5
SKIP_BELOW = 0.05
HOUR_WEIGHTS = (
    1, 0.5, 0.3, 0.2, 0.2, 0.3, 1, 2, 2, 1.5, 1.5, 1.5,
    2, 2.5, 2, 1.5, 1.5, 2, 3, 4, 6, 6, 4, 2,
)  # fmt: skip
"""Relative chance of a session starting at each hour (UTC) of the day."""


@dataclass(frozen=True)
class Truth:
    """The hidden tastes of the data set's users (``user_truth.csv``)."""

    user_ids: list[str]
    genres: list[str]
    taste: npt.NDArray[np.float64]
    """users x genres, each row summing to 1."""
    favourite_channel: list[str]


@dataclass(frozen=True)
class Catalogue:
    """What the simulator needs to know of each program (from ``programs``)."""

    main_genre: dict[str, int]
    """Program id -> index of its main genre (the first listed) in ``Truth.genres``."""
    duration_s: dict[str, int]


def load_truth(folder: Path) -> Truth:
    """The truth file of the data set in ``folder``; ``ValueError`` naming it when missing
    or malformed."""
    path = folder / TRUTH_FILE
    if not path.is_file():
        raise ValueError(
            f"{path} does not exist: the simulator needs the users' hidden tastes, which "
            "graphrails generate tv (and the demo) write next to the data; regenerate it"
        )
    frame = pd.read_csv(path, dtype={"user_id": str, "favourite_channel_id": str})
    genres = [c.removeprefix("taste_") for c in frame.columns if c.startswith("taste_")]
    missing = {"user_id", "favourite_channel_id"} - set(frame.columns)
    if missing or not genres:
        raise ValueError(f"{path}: expected user_id, favourite_channel_id and taste_* columns")
    taste = frame[[f"taste_{g}" for g in genres]].to_numpy(dtype=float)
    return Truth(
        user_ids=frame["user_id"].tolist(),
        genres=genres,
        taste=taste,
        favourite_channel=frame["favourite_channel_id"].tolist(),
    )


def load_catalogue(folder: Path, genres: list[str]) -> Catalogue:
    """Main genre and duration of every program of the data set in ``folder``."""
    csv, parquet = folder / "programs.csv", folder / "programs.parquet"
    if csv.is_file():
        frame = pd.read_csv(csv, usecols=["program_id", "genres", "duration_s"], dtype=str)
    elif parquet.is_file():
        frame = pd.read_parquet(parquet, columns=["program_id", "genres", "duration_s"])
    else:
        raise ValueError(f"{folder} holds no programs.csv or programs.parquet")
    index = {g: i for i, g in enumerate(genres)}
    main = frame["genres"].astype(str).str.split("|").str[0]
    unknown = sorted(set(main) - set(index))
    if unknown:
        raise ValueError(f"{folder}/programs: genres {unknown[:3]} are not in {TRUTH_FILE}")
    return Catalogue(
        main_genre=dict(zip(frame["program_id"], main.map(index), strict=True)),
        duration_s=dict(zip(frame["program_id"], frame["duration_s"].astype(int), strict=True)),
    )


def like(taste: npt.NDArray[np.float64], genre: int) -> float:
    """The generator's ``like``: 1 for a genre of average interest to the user."""
    return float(max(taste[genre] * len(taste), 1e-9))


def completion(liking: float, rng: np.random.Generator) -> float:
    """A watch's completion, drawn as the generator draws it."""
    base = rng.beta(2.0, 2.5)
    value = min(max(base + 0.2 * math.log(liking) + rng.normal(0, 0.1), 0.01), 1.0)
    finished = rng.random() < 0.1 + 0.4 / (1.0 + math.exp(-math.log(liking)))
    return 1.0 if finished else round(value, 4)


def pick(
    items: list[dict[str, Any]],
    taste: npt.NDArray[np.float64],
    catalogue: Catalogue,
    rng: np.random.Generator,
) -> list[tuple[dict[str, Any], float]]:
    """What the user watches in one session, in order, with each watch's completion: a
    cascade down ``items`` (see the module's docstring)."""
    out = []
    k = 0
    while k < len(items):
        item = items[k]
        k += 1
        genre = catalogue.main_genre.get(item["program_id"])
        liking = like(taste, genre) if genre is not None else 1.0
        if rng.random() < liking / (liking + HALF_LIKE):
            out.append((item, completion(liking, rng)))
            if rng.random() >= ANOTHER:
                break
        elif rng.random() >= CONTINUE:
            break
    return out


def session_hours(days: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(day, hour) of each of a user's sessions over ``days`` days, in time order."""
    weights = np.array(HOUR_WEIGHTS, dtype=float)
    weights /= weights.sum()
    out = []
    for day in range(days):
        n = min(int(rng.poisson(SESSIONS_PER_DAY)), 24)
        hours = sorted(rng.choice(24, size=n, replace=False, p=weights).tolist()) if n else []
        out += [(day, int(h)) for h in hours]
    return out
