"""The simulated users' model: taste drives picks and completion; a seed fixes it all."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from sim.run import schedule
from sim.users import Catalogue, completion, pick

CATALOGUE = Catalogue(
    main_genre={f"p{i}": i % 4 for i in range(40)}, duration_s={f"p{i}": 3600 for i in range(40)}
)
TASTE = np.array([0.85, 0.05, 0.05, 0.05])  # loves genre 0


def test_completion_grows_with_taste() -> None:
    rng = np.random.default_rng(0)
    liked = np.mean([completion(4 * 0.85, rng) for _ in range(3000)])
    disliked = np.mean([completion(4 * 0.05, rng) for _ in range(3000)])
    assert liked > disliked + 0.2
    assert all(0.01 <= completion(0.01, rng) <= 1 for _ in range(200))


def test_picks_follow_taste_and_position() -> None:
    items = [{"program_id": f"p{i}", "channel_id": "c1"} for i in range(40)]
    picked: list[str] = []
    for seed in range(2000):
        picked += [
            i["program_id"] for i, _ in pick(items, TASTE, CATALOGUE, np.random.default_rng(seed))
        ]
    genres = np.bincount([CATALOGUE.main_genre[p] for p in picked], minlength=4)
    assert genres[0] > 3 * genres[1:].max()  # taste
    first, last = picked.count("p0") + picked.count("p4"), picked.count("p32") + picked.count("p36")
    assert first > 3 * last  # position bias among items of the loved genre


def test_same_seed_same_picks_and_schedule() -> None:
    items = [{"program_id": f"p{i}", "channel_id": "c1"} for i in range(20)]
    a = pick(items, TASTE, CATALOGUE, np.random.default_rng(7))
    b = pick(items, TASTE, CATALOGUE, np.random.default_rng(7))
    assert a == b
    start = datetime(2025, 1, 9, tzinfo=UTC)
    one = schedule(list(range(50)), days=3, start=start, seed=1)
    assert one == schedule(list(range(50)), days=3, start=start, seed=1)
    assert one != schedule(list(range(50)), days=3, start=start, seed=2)
    assert all(0 <= tick < 72 for tick in one)
    assert all(s.at.hour == tick % 24 for tick, sessions in one.items() for s in sessions)
