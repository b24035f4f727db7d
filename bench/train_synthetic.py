"""Benchmark: LightGCN epoch time and memory on a large synthetic TV graph, straight from its files.

    .venv/bin/graphrails generate tv --users 1000000 --programs 200000 --seed 1 \
        --format parquet --out ~/.cache/graphrails/bench-tv-1m
    .venv/bin/python bench/train_synthetic.py ~/.cache/graphrails/bench-tv-1m --epochs 3

Builds the same graph the Neo4j export gives (every node type; HAS_GENRE,
EPISODE_OF, AVAILABLE_ON, INCLUDES, SUBSCRIBES_TO as message-passing edges;
WATCHED with completion >= the export's bar as positives) from the data set's
files, so the cost of a 1M-user graph can be measured without loading 20M
events into Neo4j first. Prints time per epoch and the peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gnn.data import TrainGraph
from gnn.export import ExportConfig
from gnn.idmap import IdMap
from gnn.train import TrainConfig, fit


def read(folder: Path, name: str, columns: list[str]) -> pd.DataFrame:
    for ext, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        path = folder / f"{name}{ext}"
        if path.exists():
            return reader(path, columns=columns) if ext == ".parquet" else reader(
                path, usecols=columns, dtype=str
            )  # fmt: skip
    raise FileNotFoundError(f"no {name}.parquet or {name}.csv in {folder}")


def build(folder: Path, min_completion: float) -> tuple[TrainGraph, dict[str, int]]:
    ids = {
        "User": read(folder, "users", ["user_id"])["user_id"],
        "Program": read(folder, "programs", ["program_id"])["program_id"],
        "Genre": read(folder, "genres", ["genre_id"])["genre_id"],
        "Channel": read(folder, "channels", ["channel_id"])["channel_id"],
        "Bundle": read(folder, "bundles", ["bundle_id"])["bundle_id"],
        "Series": read(folder, "series", ["series_id"])["series_id"],
    }
    id_map = IdMap({label: pd.Index(v.astype(str)) for label, v in ids.items()})
    programs = read(folder, "programs", ["program_id", "genres", "series_id"])
    genres = programs.assign(genre=programs["genres"].astype(str).str.split("|")).explode("genre")
    episodes = programs[programs["series_id"].notna()]
    avail = read(folder, "availability", ["program_id", "channel_id"]).drop_duplicates()
    edges = [
        ("Program", genres["program_id"], "Genre", genres["genre"]),
        ("Program", episodes["program_id"], "Series", episodes["series_id"]),
        ("Program", avail["program_id"], "Channel", avail["channel_id"]),
    ]
    bc = read(folder, "bundle_channels", ["bundle_id", "channel_id"])
    edges.append(("Bundle", bc["bundle_id"], "Channel", bc["channel_id"]))
    subs = read(folder, "subscriptions", ["user_id", "bundle_id"])
    edges.append(("User", subs["user_id"], "Bundle", subs["bundle_id"]))
    src = np.concatenate([id_map.rows(a, s.astype(str)) for a, s, _, _ in edges])
    dst = np.concatenate([id_map.rows(b, d.astype(str)) for _, _, b, d in edges])

    events = read(folder, "watch_events", ["user_id", "program_id", "completion"])
    events["completion"] = events["completion"].astype(float)
    best = events.groupby(["user_id", "program_id"], sort=False)["completion"].max().reset_index()
    positives = best[best["completion"] >= min_completion]
    users = id_map.rows("User", positives["user_id"].astype(str))
    items = id_map.rows("Program", positives["program_id"].astype(str))
    graph = TrainGraph(
        num_nodes=id_map.num_nodes,
        edge_index=torch.as_tensor(np.stack([src, dst])),
        user_nodes=torch.as_tensor(id_map.label_rows("User")),
        program_nodes=torch.as_tensor(id_map.label_rows("Program")),
        positives=torch.as_tensor(np.stack([users, items])),
    )
    stats = {"nodes": id_map.num_nodes, "edges": int(src.size), "events": len(events),
             "watched": len(best), "positives": len(positives)}  # fmt: skip
    return graph, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--negatives", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=500_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    started = time.perf_counter()
    graph, stats = build(args.folder, ExportConfig().min_completion)
    build_s = time.perf_counter() - started
    config = TrainConfig(
        embedding_dim=args.dim, epochs=args.epochs, num_negatives=args.negatives,
        batch_size=args.batch_size, val_fraction=0.0, refit=False, num_threads=args.threads,
    )  # fmt: skip
    result = fit(graph, config, progress=True)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(stats)
    print(
        f"| {args.folder.name} | {stats['nodes']:,} nodes, {stats['edges']:,} edges, "
        f"{stats['positives']:,} positives | dim {args.dim}, {args.negatives} negatives, "
        f"batch {args.batch_size:,}, {args.threads} threads | build {build_s:.0f} s | "
        f"{result.seconds_per_epoch:.1f} s/epoch over {args.epochs} epochs | "
        f"peak RSS {peak_gb:.1f} GB | load {load} |"
    )


if __name__ == "__main__":
    main()
