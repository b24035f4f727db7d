"""A serving model with random embeddings, for API tests that need personalised rails
without training one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from api.model import ServingModel
from gnn.artifacts import ModelVersion
from gnn.idmap import IdMap


def random_model(folder: Path, *, version: str, dim: int = 8, seed: int = 0) -> ServingModel:
    """A serving model over the users and programs of a generated data set, with random
    embeddings: enough for personalised rails (and their backfill) without training."""
    users = pd.read_csv(folder / "users.csv", dtype=str)["user_id"]
    programs = pd.read_csv(folder / "programs.csv", dtype=str)["program_id"]
    rng = np.random.default_rng(seed)
    embeddings = rng.standard_normal((len(users) + len(programs), dim)).astype(np.float32)
    model = ModelVersion(
        path=folder, manifest={"version": version}, embeddings=embeddings,
        id_map=IdMap({"User": pd.Index(users), "Program": pd.Index(programs)}),
        train_positives=np.empty((0, 2), np.int64), holdout=np.empty((0, 2), np.int64),
    )  # fmt: skip
    return ServingModel.from_version(model)
