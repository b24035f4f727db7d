"""Export the Neo4j graph into tensors: one graph over every node type, with an id map.

Rows are assigned label by label (``User`` first, then ``Program``, then the
rest) in id order, so the same graph always exports to the same rows. Results
are streamed from Neo4j in pages of ``page_rows`` records and turned into
integer arrays page by page: 20M edges never become one Python list of dicts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from neo4j import Driver
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from gnn.data import TrainGraph
from gnn.idmap import IdMap
from graph.queries import query

NODE_LABELS = ("User", "Program", "Genre", "Channel", "Bundle", "Series")
"""Exported labels, in row order."""

STRUCTURE = {
    # relationship type: (query, source label, target label)
    "HAS_GENRE": ("export/has_genre", "Program", "Genre"),
    "EPISODE_OF": ("export/episode_of", "Program", "Series"),
    "AVAILABLE_ON": ("export/available_on", "Program", "Channel"),
    "INCLUDES": ("export/includes", "Bundle", "Channel"),
    "SUBSCRIBES_TO": ("export/subscribes_to", "User", "Bundle"),
}
"""Relationships that carry messages besides WATCHED (the training positives)."""


class ExportConfig(BaseModel):
    """What the export reads and how it weighs it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_completion: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="A WATCHED is a positive when its best completion reaches this "
        "(sources without completion, such as MovieLens, count every WATCHED).",
    )
    relationship_weights: dict[str, float] = Field(
        default_factory=lambda: dict.fromkeys(STRUCTURE, 1.0),
        description="Message-passing weight of each structural relationship; 0 leaves it out.",
    )
    page_rows: int = Field(default=100_000, gt=0, description="Records turned into arrays at once.")


@dataclass
class GraphExport:
    """The exported graph: the id map, message-passing edges and the WATCHED positives."""

    id_map: IdMap
    edge_index: torch.Tensor
    edge_weight: torch.Tensor
    positives: pd.DataFrame
    """One row per positive: ``user`` and ``program`` rows, ``completion``, ``last_ts``."""
    stats: dict[str, int]

    def train_graph(self, positives: pd.DataFrame | None = None) -> TrainGraph:
        """A :class:`TrainGraph` whose positives are ``positives`` (default: all of them)."""
        chosen = self.positives if positives is None else positives
        pairs = torch.as_tensor(np.stack([chosen["user"], chosen["program"]]), dtype=torch.long)
        last_ts = chosen["last_ts"].to_numpy(dtype=np.float64)
        dated = len(last_ts) > 0 and bool(np.isfinite(last_ts).all())
        return TrainGraph(
            num_nodes=self.id_map.num_nodes,
            edge_index=self.edge_index,
            edge_weight=self.edge_weight,
            user_nodes=torch.as_tensor(self.id_map.label_rows("User")),
            program_nodes=torch.as_tensor(self.id_map.label_rows("Program")),
            positives=pairs,
            positive_time=torch.as_tensor(last_ts) if dated else None,
            genre_nodes=torch.as_tensor(self.id_map.label_rows("Genre")),
            channel_nodes=torch.as_tensor(self.id_map.label_rows("Channel")),
        )


def export_graph(
    driver: Driver, *, database: str, config: ExportConfig | None = None, progress: bool = True
) -> GraphExport:
    """Read the graph of ``database`` into a :class:`GraphExport`."""
    config = config or ExportConfig()
    unknown = set(config.relationship_weights) - set(STRUCTURE)
    if unknown:
        raise ValueError(
            f"relationship_weights names {sorted(unknown)}; known: {', '.join(STRUCTURE)}"
        )
    ids = {}
    for label in NODE_LABELS:
        column = _stream_columns(driver, database, "export/ids", {"label": label}, config, ["id"])
        ids[label] = pd.Index(np.concatenate([c["id"] for c in column] or [np.array([], object)]))
    id_map = IdMap(ids)
    if not len(id_map.ids["User"]) or not len(id_map.ids["Program"]):
        raise ValueError(f"database '{database}' has no User or no Program nodes: nothing to train")
    stats = {f"nodes_{label}": len(index) for label, index in id_map.ids.items()}

    sources, targets, weights = [], [], []
    for rel_type, (statement, src_label, dst_label) in STRUCTURE.items():
        weight = config.relationship_weights.get(rel_type, 0.0)
        if weight <= 0:
            continue
        count = 0
        pages = _stream_columns(driver, database, statement, {}, config, ["src", "dst"])
        for page in tqdm(pages, desc=f"export {rel_type}", unit="page", disable=not progress):
            src = id_map.rows(src_label, page["src"])
            dst = id_map.rows(dst_label, page["dst"])
            ok = (src >= 0) & (dst >= 0)
            sources.append(src[ok])
            targets.append(dst[ok])
            weights.append(np.full(int(ok.sum()), weight, dtype=np.float32))
            count += int(ok.sum())
        stats[f"edges_{rel_type}"] = count

    positives = _positives(driver, database, id_map, config, progress=progress)
    stats["watched"] = positives.attrs["watched"]
    stats["positives"] = len(positives)
    edge_index = torch.as_tensor(
        np.stack([np.concatenate(sources or [np.zeros(0, np.int64)]),
                  np.concatenate(targets or [np.zeros(0, np.int64)])]),
        dtype=torch.long,
    )  # fmt: skip
    edge_weight = torch.as_tensor(np.concatenate(weights or [np.zeros(0, np.float32)]))
    return GraphExport(id_map, edge_index, edge_weight, positives, stats)


def _positives(
    driver: Driver, database: str, id_map: IdMap, config: ExportConfig, *, progress: bool
) -> pd.DataFrame:
    frames = []
    columns = ["src", "dst", "completion", "last_ts"]
    pages = _stream_columns(driver, database, "export/watched", {}, config, columns)
    watched = 0
    for page in tqdm(pages, desc="export WATCHED", unit="page", disable=not progress):
        frame = pd.DataFrame(page)
        watched += len(frame)
        completion = pd.to_numeric(frame["completion"], errors="coerce")
        keep = completion.isna() | (completion >= config.min_completion)
        frame = frame[keep.to_numpy()]
        out = pd.DataFrame(
            {
                "user": id_map.rows("User", frame["src"]),
                "program": id_map.rows("Program", frame["dst"]),
                "completion": pd.to_numeric(frame["completion"], errors="coerce").to_numpy(),
                "last_ts": pd.to_numeric(frame["last_ts"], errors="coerce").to_numpy(),
            }
        )
        frames.append(out[(out["user"] >= 0) & (out["program"] >= 0)])
    result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"user": [], "program": [], "completion": [], "last_ts": []}
    )  # fmt: skip
    result = result.astype({"user": np.int64, "program": np.int64})
    result.attrs["watched"] = watched
    return result


def _stream_columns(
    driver: Driver,
    database: str,
    statement: str,
    params: dict[str, Any],
    config: ExportConfig,
    columns: list[str],
) -> Iterator[dict[str, npt.NDArray[Any]]]:
    """Run a read query and yield its rows as column arrays, ``page_rows`` at a time."""
    with driver.session(database=database, fetch_size=min(config.page_rows, 10_000)) as session:
        result = session.run(query(statement), params)
        records = iter(result)
        while True:
            page = list(islice(records, config.page_rows))
            if not page:
                return
            yield {c: np.array([r[c] for r in page], dtype=object) for c in columns}
