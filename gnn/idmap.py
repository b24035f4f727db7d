"""The id map of an exported graph: between (label, external id) and embedding rows.

Kept apart from the export so that readers of a model version (the API) need
neither torch nor the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd


@dataclass
class IdMap:
    """Between (label, external id) and the export's row numbers."""

    ids: dict[str, pd.Index]
    offsets: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.offsets, start = {}, 0
        for label, index in self.ids.items():
            self.offsets[label] = start
            start += len(index)

    @property
    def num_nodes(self) -> int:
        return sum(len(i) for i in self.ids.values())

    def rows(self, label: str, ids: Any) -> npt.NDArray[np.int64]:
        """Rows of ``ids`` of ``label``; -1 for ids the map does not know."""
        found = self.ids[label].get_indexer(pd.Index(ids))
        return np.where(found >= 0, found + self.offsets[label], -1).astype(np.int64)

    def label_rows(self, label: str) -> npt.NDArray[np.int64]:
        start = self.offsets[label]
        return np.arange(start, start + len(self.ids[label]), dtype=np.int64)

    def to_frame(self) -> pd.DataFrame:
        frames = [
            pd.DataFrame({"label": label, "id": index, "row": self.label_rows(label)})
            for label, index in self.ids.items()
        ]
        return pd.concat(frames, ignore_index=True)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> IdMap:
        ordered = frame.sort_values("row")
        labels = list(dict.fromkeys(ordered["label"]))
        return cls({lb: pd.Index(ordered.loc[ordered["label"] == lb, "id"]) for lb in labels})
