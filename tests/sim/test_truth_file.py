"""The generator's truth file: the hidden tastes the data was drawn from, beside the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from loaders.contract import FILES
from loaders.generate import generate_tv
from sim.users import load_catalogue, load_truth


def test_truth_holds_the_tastes_the_watches_were_drawn_from(tmp_path: Path) -> None:
    generate_tv(tmp_path, users=300, programs=400, seed=9, progress=False)
    assert "user_truth" not in {spec.name for spec in FILES}  # never a file the loaders read
    truth = load_truth(tmp_path)
    users = pd.read_csv(tmp_path / "users.csv", dtype=str)
    assert truth.user_ids == users["user_id"].tolist()
    assert np.allclose(truth.taste.sum(axis=1), 1.0, atol=1e-4)
    channels = set(pd.read_csv(tmp_path / "channels.csv", dtype=str)["channel_id"])
    assert set(truth.favourite_channel) <= channels
    # Users watch the genres they were drawn to like: the taste of the watched programs'
    # main genre is far above that of a genre picked at random (1 / number of genres).
    catalogue = load_catalogue(tmp_path, truth.genres)
    events = pd.read_csv(tmp_path / "watch_events.csv", dtype=str)
    row = {u: i for i, u in enumerate(truth.user_ids)}
    taste = [
        truth.taste[row[u], catalogue.main_genre[p]]
        for u, p in zip(events["user_id"], events["program_id"], strict=True)
    ]
    assert np.mean(taste) > 3 / len(truth.genres)
    # Same seed, same truth (the generator's determinism covers it).
    again = tmp_path / "again"
    generate_tv(again, users=300, programs=400, seed=9, progress=False)
    assert (again / "user_truth.csv").read_bytes() == (tmp_path / "user_truth.csv").read_bytes()
