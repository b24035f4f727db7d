"""The users' hidden tastes, written next to the data set for the user simulator.

``user_truth.csv`` holds, per user, the latent taste the generator drew (their share
of interest per genre) and their favourite channel: what ``sim/`` acts on. It is not
a contract file and no loader reads it, so the graph never holds the answer a
simulation tests the rails against.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

TRUTH = "user_truth"
"""The file's name (``user_truth.csv``), and the key of its columns in a user block."""


class TruthWriter:
    """Appends blocks of users' tastes to ``user_truth.csv`` through a hidden partial file,
    renamed when complete (like the contract files)."""

    def __init__(self, out: Path) -> None:
        self.path = out / f"{TRUTH}.csv"
        self.tmp = out / f".{TRUTH}.csv.partial"
        self.rows = 0

    def write(self, columns: Mapping[str, Any]) -> None:
        frame = pd.DataFrame(dict(columns))
        frame.to_csv(self.tmp, mode="a" if self.rows else "w", header=not self.rows, index=False)
        self.rows += len(frame)

    def close(self) -> None:
        if self.rows:
            self.tmp.replace(self.path)
        else:
            self.tmp.unlink(missing_ok=True)
