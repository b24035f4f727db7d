"""One propagation of the sparse recipe, timed: the normalised adjacency (CSR) times the
node embeddings, as ``torch.sparse.mm`` computes it and as :func:`gnn.model._spmm` does
(``addmm`` into a fresh output), side by side in one process on a TV data set's graph.

Prints each one's times and whether both give the same values (they must).

    .venv/bin/python bench/spmm.py [--users 20000 --seed 11 --repeats 200 --threads 2]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tv_data import generated, read_tv

from gnn.model import _spmm, normalized_adjacency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11, help="the data set's seed")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/graphrails-bench")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = read_tv(generated(args.users, args.seed, args.cache))
    graph = data.graph(data.positives, side=True)
    edges = torch.cat([graph.edge_index.long(), graph.positives.long()], 1)
    adj = normalized_adjacency(edges, graph.num_nodes)
    x = torch.randn(graph.num_nodes, args.dim, generator=torch.Generator().manual_seed(0))
    ways: dict[str, Callable[[], torch.Tensor]] = {
        "torch.sparse.mm": lambda: torch.sparse.mm(adj, x),
        "addmm into a fresh output": lambda: _spmm(adj, x),
    }
    same = torch.equal(ways["torch.sparse.mm"](), ways["addmm into a fresh output"]())
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, way in ways.items():
            start = time.perf_counter()
            way()
            times[name].append(time.perf_counter() - start)
    for name, values in times.items():
        values.sort()
        print(f"{name}: median {1000 * values[len(values) // 2]:.2f} ms")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{graph.num_nodes:,} nodes, {adj.values().numel():,} non-zeros, {args.dim} columns, "
        f"{args.threads} thread(s); same values: {same}; load {load}"
    )


if __name__ == "__main__":
    main()
