"""The TV benchmark: LightGCN against EASE, ALS and two counting baselines, in one process.

    .venv/bin/python bench/tv_benchmark.py --users 20000 [--seed 11] [--splits random,temporal]

Generates (once, then reuses) ``graphrails generate tv --users N`` with programs scaled
with users (:func:`tv_data.programs_for`), takes as positives every (user, program)
watched with a best completion >= 0.5, and scores every model on two splits: a per-user
random 75/25 and a per-user temporal one (each user's last 25 % by time; users with
fewer than 4 positives stay in train). Every model ranks all programs but the user's
training positives and is scored by ``gnn/metrics.py`` at k = 10. The baselines' grids
are judged on the test split itself (their best row is reported: a bound in their
favour); LightGCN runs with the defaults :func:`gnn.train.default_config` picks from the
graph's size, tuned on other seeds (data seed 12), and early-stops on a holdout of the
training positives, never on the test split.

Also reported: recall@10 on cold programs (programs with fewer than 3 training positives,
a program airing for the first time among them): each model ranks the cold programs only,
as a "new this week" rail would, and is scored on their test positives. And fit wall
time, s/epoch, and the peak RSS of this process during each fit. Needs the bench extra
(``implicit`` for ALS): ``uv pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tv_data import TvData, generated, random_split, read_tv, temporal_split

from gnn.metrics import PAD, Ranking, ndcg_at_k, precision_at_k, recall_at_k
from gnn.model import recommend
from gnn.train import TrainConfig, fit

K = 10
COLD_BELOW = 3
Result = tuple[np.ndarray, np.ndarray, dict[str, Any]]
"""A model's top-k over every program, its top-k over the cold programs only, details."""
USERS_PER_BATCH = 2_048


@dataclass
class Row:
    split: str
    model: str
    ndcg: float
    precision: float
    recall: float
    cold_recall: float
    fit_s: float
    s_per_epoch: float | None = None
    epochs: int | None = None
    peak_rss_mb: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)


class PeakRss:
    """The largest resident set size of this process seen while ``watch()`` runs."""

    def __init__(self) -> None:
        self.peak = 0

    @staticmethod
    def now() -> int:
        with Path("/proc/self/statm").open() as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    @contextmanager
    def watch(self) -> Iterator[None]:
        self.peak = self.now()
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.02):
                self.peak = max(self.peak, self.now())

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self.peak = max(self.peak, self.now())


@dataclass
class Split:
    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    users: np.ndarray  # test users (rows of every ranking)
    train_csr: sp.csr_matrix  # [num_users, num_programs]
    cold: np.ndarray  # [num_programs] bool: fewer than COLD_BELOW training positives


def make_split(name: str, data: TvData, train: pd.DataFrame, test: pd.DataFrame) -> Split:
    csr = sp.csr_matrix(
        (np.ones(len(train), np.float32), (train["user"], train["program"])),
        shape=(data.num_users, data.num_programs),
    )
    counts = np.bincount(train["program"], minlength=data.num_programs)
    users = np.unique(test["user"].to_numpy())
    return Split(name, train, test, users, csr, counts < COLD_BELOW)


def score(split: Split, top: np.ndarray, cold_top: np.ndarray) -> dict[str, float]:
    """Metrics of ``top`` ([test users, k] program columns, -1 padding) on the split, and
    recall of ``cold_top`` (a ranking of the cold programs only) on their test positives."""
    row = np.searchsorted(split.users, split.test["user"].to_numpy())
    items = split.test["program"].to_numpy()
    ranking = Ranking.from_arrays(top, row, items, k=K)
    cold = split.cold[items]
    cold_ranking = Ranking.from_arrays(cold_top, row[cold], items[cold], k=K)
    return {
        "ndcg": ndcg_at_k(ranking),
        "precision": precision_at_k(ranking),
        "recall": recall_at_k(ranking),
        "cold_recall": recall_at_k(cold_ranking) if cold.any() else float("nan"),
    }


def top_k_dense(
    split: Split, scores_of: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of dense ``scores_of(user_rows)`` per test user, training positives excluded:
    among every program, and among the cold programs only."""
    return _top_k(split, scores_of, None), _top_k(split, scores_of, split.cold)


def _top_k(
    split: Split, scores_of: Callable[[np.ndarray], np.ndarray], only: np.ndarray | None
) -> np.ndarray:
    out = np.full((len(split.users), K), PAD, dtype=np.int64)
    for a in range(0, len(split.users), USERS_PER_BATCH):
        rows = split.users[a : a + USERS_PER_BATCH]
        s = torch.tensor(np.asarray(scores_of(rows), dtype=np.float32))
        seen = split.train_csr[rows].tocoo()
        s[seen.row, seen.col] = -torch.inf
        if only is not None:
            s[:, torch.as_tensor(~only)] = -torch.inf
        val, col = torch.topk(s, K, dim=1)
        out[a : a + len(rows)] = torch.where(val > -torch.inf, col, PAD).numpy()
    return out


# ------------------------------------------------------------------ baselines
def most_popular(data: TvData, split: Split) -> Result:
    pop = np.asarray(split.train_csr.sum(axis=0)).ravel()
    return *top_k_dense(split, lambda rows: np.broadcast_to(pop, (len(rows), len(pop)))), {}


def ease(lam: float) -> Callable[[TvData, Split], Result]:
    def run(data: TvData, split: Split) -> Result:
        x = split.train_csr
        gram = torch.as_tensor((x.T @ x).toarray(), dtype=torch.float32)
        gram.diagonal().add_(lam)
        # Symmetric positive definite: a Cholesky inverse takes half an LU inverse's time.
        inverse = torch.cholesky_inverse(torch.linalg.cholesky(gram))
        b = inverse / -inverse.diagonal()
        b.diagonal().zero_()
        del gram, inverse
        b_np = b.numpy()
        return *top_k_dense(split, lambda rows: x[rows] @ b_np), {"lambda": lam}

    return run


def als(factors: int, regularization: float, alpha: float) -> Callable[[TvData, Split], Result]:
    def run(data: TvData, split: Split) -> Result:
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(
            factors=factors, regularization=regularization, alpha=alpha, iterations=15,
            random_state=0, calculate_training_loss=False,
        )  # fmt: skip
        model.fit(split.train_csr, show_progress=False)
        tops = []
        for items in (None, np.flatnonzero(split.cold)):
            ids, _ = model.recommend(
                split.users, split.train_csr[split.users], N=K,
                filter_already_liked_items=True, items=items,
            )  # fmt: skip
            tops.append(np.where(ids >= 0, ids, PAD).astype(np.int64))
        detail = {"factors": factors, "regularization": regularization, "alpha": alpha}
        return tops[0], tops[1], detail

    return run


def genre_channel_scores(
    data: TvData, split: Split, genre_weight: float, half_life_days: float | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """pop(p) x (w x the user's share of positives in p's genres + (1 - w) x on p's channel),
    for user rows.

    No learning: shares and popularity are counts of the training positives, popularity's
    with each positive weighted by 0.5 ** (age / half-life) when one is given (its age from
    the latest training positive)."""
    n_genres = 1 + max(int(g.max()) for g in data.program_genres)
    n_channels = 1 + int(data.program_channel.max())
    rows = np.repeat(np.arange(data.num_programs), [len(g) for g in data.program_genres])
    cols = np.concatenate(data.program_genres)
    weights = np.concatenate([np.full(len(g), 1 / len(g)) for g in data.program_genres])
    program_genre = sp.csr_matrix((weights, (rows, cols)), (data.num_programs, n_genres))
    has_channel = data.program_channel >= 0
    program_channel = sp.csr_matrix(
        (
            np.ones(int(has_channel.sum())),
            (np.flatnonzero(has_channel), data.program_channel[has_channel]),
        ),
        (data.num_programs, n_channels),
    )
    x = split.train_csr
    if half_life_days is None:
        pop = np.asarray(x.sum(axis=0)).ravel() + 1.0
    else:
        ts = split.train["ts"].to_numpy()
        age_days = (ts.max() - ts) / 86_400.0
        recent = np.power(0.5, age_days / half_life_days)
        pop = np.bincount(split.train["program"], recent, data.num_programs) + 1.0
    user_genre = np.asarray((x @ program_genre).todense())
    user_genre /= np.maximum(user_genre.sum(1, keepdims=True), 1e-9)
    user_channel = np.asarray((x @ program_channel).todense())
    user_channel /= np.maximum(user_channel.sum(1, keepdims=True), 1e-9)
    genre_t = program_genre.T.toarray()
    channel_t = program_channel.T.toarray()

    def scores(r: np.ndarray) -> np.ndarray:
        share = genre_weight * (user_genre[r] @ genre_t)
        share += (1 - genre_weight) * (user_channel[r] @ channel_t)
        return (share + 1e-3) * pop

    return scores


def genre_channel_popularity(
    genre_weight: float, half_life_days: float | None = None
) -> Callable[[TvData, Split], Result]:
    """The genre/channel count (:func:`genre_channel_scores`) as a model of the benchmark."""

    def run(data: TvData, split: Split) -> Result:
        scores = genre_channel_scores(data, split, genre_weight, half_life_days)
        detail = {"genre_weight": genre_weight, "half_life_days": half_life_days}
        return *top_k_dense(split, scores), detail

    return run


def lightgcn(config: TrainConfig | None, *, side: bool) -> Callable[[TvData, Split], Result]:
    def run(data: TvData, split: Split) -> Result:
        graph = data.graph(split.train, side=side)
        # Early stopping holds out what the split tests: the latest positives on the
        # temporal split, a random share on the random one (the rest is the defaults).
        holdout = "latest" if split.name == "temporal" else "random"
        chosen = (config or TrainConfig()).model_copy(update={"holdout": holdout})
        result = fit(graph, chosen, progress=True)
        users = torch.as_tensor(split.users)
        tops = []
        extra = result.extra(graph)
        for programs in (graph.program_nodes, graph.program_nodes[torch.as_tensor(split.cold)]):
            nodes, _ = recommend(
                result.embeddings, users=users, programs=programs,
                exclude=graph.positives, k=K, extra=extra,
            )  # fmt: skip
            top = nodes.numpy()
            tops.append(np.where(top >= 0, top - data.num_users, PAD))
        detail = {
            "s_per_epoch": result.seconds_per_epoch,
            "epochs": result.best_epoch,
            "val_ndcg": result.best_val_ndcg,
            "config": result.config.model_dump(mode="json", exclude_defaults=True),
        }
        return tops[0], tops[1], detail

    return run


Model = Callable[[TvData, Split], Result]


def grids(quick: bool, users: int, lambdas: tuple[float, ...]) -> dict[str, list[Model]]:
    scale = max(1.0, users / 20_000)
    return {
        "most popular": [most_popular],
        # The Gram matrix grows with the users: so does the best lambda (200 at 20k users).
        "EASE": [ease(lam * scale) for lam in ((200.0,) if quick else lambdas)],
        "ALS": [
            als(f, r, 10.0)
            for f in ((16,) if quick else (16, 32))
            for r in ((100.0,) if quick else (50.0, 100.0))
        ],
        # With popularity counted over the whole span or over the last days (a half-life).
        "genre/channel popularity": [
            genre_channel_popularity(w, h)
            for w in ((0.75,) if quick else (0.5, 0.75, 1.0))
            for h in ((None,) if quick else (None, 1.0, 0.5))
        ],
        "LightGCN (graph)": [lightgcn(None, side=True)],
        "LightGCN (user-program only)": [lightgcn(None, side=False)],
    }


def run_model(name: str, variants: list[Model], data: TvData, split: Split) -> Row:
    best: Row | None = None
    rss = PeakRss()
    for variant in variants:
        t0 = time.perf_counter()
        with rss.watch():
            top, cold_top, detail = variant(data, split)
        fit_s = time.perf_counter() - t0
        metrics = score(split, top, cold_top)
        row = Row(
            split=split.name, model=name, fit_s=fit_s, peak_rss_mb=rss.peak / 2**20,
            s_per_epoch=detail.pop("s_per_epoch", None), epochs=detail.pop("epochs", None),
            detail=detail, **metrics,
        )  # fmt: skip
        print(f"  {name} {detail}: {metrics} in {fit_s:.1f} s", flush=True)
        if best is None or row.ndcg > best.ndcg:
            best = row
    assert best is not None
    return best


def markdown(rows: list[Row]) -> str:
    lines = [
        "| split | model | nDCG@10 | P@10 | R@10 | cold R@10 | fit | s/epoch | epochs | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        spe = f"{r.s_per_epoch:.2f} s" if r.s_per_epoch else ""
        lines.append(
            f"| {r.split} | {r.model} | {r.ndcg:.4f} | {r.precision:.4f} | {r.recall:.4f} | "
            f"{r.cold_recall:.4f} | {r.fit_s:.1f} s | {spe} | {r.epochs or ''} | "
            f"{r.peak_rss_mb:,.0f} MB |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11, help="data set seed (default: 11)")
    parser.add_argument("--split-seed", type=int, default=0, help="random split seed")
    parser.add_argument("--splits", default="random,temporal")
    parser.add_argument("--models", default=None, help="comma-separated subset of the models")
    parser.add_argument("--quick", action="store_true", help="one point of each baseline grid")
    parser.add_argument(
        "--lambdas",
        default="100,200,500,1000",
        help="EASE's grid at 20k users, scaled with the users beyond (default: %(default)s)",
    )
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".cache/graphrails-bench")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    folder = generated(args.users, args.seed, args.data_dir)
    data = read_tv(folder)
    print(
        f"{folder}: {data.num_users:,} users, {data.num_programs:,} programs, "
        f"{len(data.positives):,} positives ({time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    lambdas = tuple(float(x) for x in args.lambdas.split(","))
    models = grids(args.quick, args.users, lambdas)
    if args.models:
        wanted = [m.strip() for m in args.models.split(",")]
        unknown = [m for m in wanted if m not in models]
        if unknown:
            parser.error(f"unknown model(s) {unknown}; known: {', '.join(models)}")
        models = {m: models[m] for m in wanted}
    rows = []
    for name in args.splits.split(","):
        if name == "random":
            train, test = random_split(data.positives, seed=args.split_seed)
        elif name == "temporal":
            train, test = temporal_split(data.positives)
        else:
            parser.error(f"unknown split {name!r}: random or temporal")
        split = make_split(name, data, train, test)
        print(f"split {name}: {len(train):,} train, {len(test):,} test positives", flush=True)
        for model, variants in models.items():
            rows.append(run_model(model, variants, data, split))
    print()
    print(markdown(rows))
    print(
        f"\nusers {args.users:,}, seed {args.seed}, split seed {args.split_seed}, "
        f"{torch.get_num_threads()} threads, load average "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
        + f", process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
    )
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=1, default=str))


if __name__ == "__main__":
    main()
