"""Our LightGCN, RecBole 1.2.1's LightGCN and EASE on one split, scored with gnn.metrics.

    bash bench/recbole_setup.sh                      # once: RecBole's own venv
    .venv/bin/python bench/side_by_side.py [--recbole-epochs 100 300] [--threads 1]

Every model trains on the same ``train.csv`` (default: the ms100k split in
``../shared/benchmarks/ms100k``, relative to the repository root), recommends the top k
items each user has no train row for, and is scored on ``test.csv`` by
``bench/ms100k_score.py``, so every row uses one metric definition:

* ours: the ``graphrails benchmark`` code path (``gnn.benchmark.recommend_interactions``)
  with the shipped ``TrainConfig`` defaults;
* RecBole: its LightGCN with RecBole's defaults (dim 64, 2 layers, BPR with one uniform
  negative, Adam lr 1e-3, batch 2048, reg 1e-5) for a fixed number of epochs on the whole
  train split (no validation, so no early stopping), run in RecBole's venv as a
  subprocess of this script so that the project's environment never imports it;
* EASE: closed form with lambda=500 (numpy, written here).

Fit time is training only: not imports, data loading or scoring. Before each timed fit the
script waits until no ``load_api.py`` process runs (another engineer's load test needs the
CPU) and holds ``flock /tmp/graphrails-bench.lock``; ``uptime`` load averages are recorded
before and after each fit. Prints Markdown tables and writes ``OUT_DIR/results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SPLIT = REPO.parent / "shared" / "benchmarks" / "ms100k"
DEFAULT_VENV = Path(
    os.environ.get(
        "GRAPHRAILS_RECBOLE_VENV", Path.home() / ".cache" / "graphrails" / "recbole-venv"
    )
)
LOCK_PATH = Path("/tmp/graphrails-bench.lock")
QUALITY = ("ndcg", "precision", "recall", "map")
EASE_LAMBDA = 500.0


# ------------------------------------------------------------------ CPU discipline
def load_average() -> str:
    """The three ``uptime`` load averages, e.g. ``"1.20, 2.03, 3.11"``."""
    out = subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout
    return out.rsplit("load average:", 1)[-1].strip()


@contextlib.contextmanager
def quiet_cpu(label: str, record: dict[str, Any]) -> Iterator[None]:
    """Wait for the API load test to finish, then hold the shared bench lock.

    Puts ``load_before`` and ``load_after`` into ``record``.
    """
    waited = False
    while subprocess.run(["pgrep", "-f", "load_api.py"], capture_output=True).returncode == 0:
        if not waited:
            print(f"[{label}] waiting for load_api.py to finish ...", file=sys.stderr)
            waited = True
        time.sleep(5)
    with LOCK_PATH.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the same lock as `flock /tmp/graphrails-bench.lock`
        try:
            record["load_before"] = load_average()
            print(f"[{label}] fitting, load {record['load_before']}", file=sys.stderr)
            yield
            record["load_after"] = load_average()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# ------------------------------------------------------------------ the three models
def run_ours(train_csv: Path, *, k: int, threads: int, record: dict[str, Any]) -> pd.DataFrame:
    from gnn.benchmark import read_interactions, recommend_interactions
    from gnn.train import TrainConfig

    df = read_interactions(train_csv)
    config = TrainConfig(num_threads=threads)
    with quiet_cpu("ours", record):
        recs, result = recommend_interactions(df, k=k, config=config)
    search = sum(1 for h in result.history if h.get("phase") == "search")
    record.update(
        fit_s=result.fit_seconds,
        s_per_epoch=result.seconds_per_epoch,
        epochs=f"{search} + {len(result.history) - search}",
    )
    return recs


def run_ease(train_csv: Path, *, k: int, record: dict[str, Any]) -> pd.DataFrame:
    """EASE (Steck 2019): B = I - P / diag(P) with P = (X^T X + lambda I)^-1."""
    df = pd.read_csv(train_csv, usecols=["userID", "itemID"])
    user_codes, user_ids = pd.factorize(df["userID"], sort=True)
    item_codes, item_ids = pd.factorize(df["itemID"], sort=True)
    x = np.zeros((len(user_ids), len(item_ids)), dtype=np.float64)
    x[user_codes, item_codes] = 1.0
    with quiet_cpu("EASE", record):
        start = time.perf_counter()
        gram = x.T @ x
        gram[np.diag_indices_from(gram)] += EASE_LAMBDA
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)
        b[np.diag_indices_from(b)] = 0.0
        record["fit_s"] = time.perf_counter() - start
    scores = x @ b
    scores[x > 0] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return pd.DataFrame(
        {
            "userID": np.repeat(np.asarray(user_ids), k),
            "itemID": np.asarray(item_ids)[top.ravel()],
            "prediction": np.take_along_axis(scores, top, axis=1).ravel(),
        }
    )


def write_atomic_files(train_csv: Path, data_dir: Path) -> None:
    """``train.csv`` as RecBole benchmark files ``ms100k.{train,valid,test}.inter``.

    RecBole needs the three parts; valid and test hold one train row each and are never
    read (no evaluation runs), so every user and item RecBole knows comes from train.
    """
    df = pd.read_csv(train_csv, usecols=["userID", "itemID"])
    df.columns = ["user_id:token", "item_id:token"]
    folder = data_dir / "ms100k"
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / "ms100k.train.inter", sep="\t", index=False)
    for part in ("valid", "test"):
        df.head(1).to_csv(folder / f"ms100k.{part}.inter", sep="\t", index=False)


def run_recbole(
    train_csv: Path,
    *,
    k: int,
    epochs: int,
    threads: int,
    venv: Path,
    work_dir: Path,
    record: dict[str, Any],
) -> pd.DataFrame:
    python = venv / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{python}: no RecBole venv; run `bash bench/recbole_setup.sh` first")
    data_dir = work_dir / f"recbole{epochs}"
    write_atomic_files(train_csv, data_dir)
    recs_path, stats_path = data_dir / "recs.csv", data_dir / "stats.json"
    cmd = [
        str(python),
        str(Path(__file__).resolve()),
        "recbole-worker",
        "--data-dir",
        str(data_dir),
        "--epochs",
        str(epochs),
        "--threads",
        str(threads),
        "--k",
        str(k),
        "--out",
        str(recs_path),
        "--stats",
        str(stats_path),
    ]
    # The worker times its own fit; the lock covers its imports and data loading too.
    with quiet_cpu(f"RecBole {epochs} epochs", record):
        subprocess.run(cmd, check=True, cwd=data_dir)
    record.update(json.loads(stats_path.read_text()))
    return pd.read_csv(recs_path)


# ------------------------------------------------------------------ inside RecBole's venv
def _numpy2_shims() -> None:
    """What RecBole 1.2.1 needs from NumPy 1 and older SciPy, patched before importing it.

    * ``Config.compatibility_settings`` assigns ``np.float = np.float_``,
      ``np.complex = np.complex_`` and ``np.unicode = np.unicode_``: those three aliases are
      gone in NumPy 2 (its other aliases, ``np.int_``, ``np.object_``, ``np.str_``,
      ``np.bool_``, still exist).
    * ``LightGCN.get_norm_adj_mat`` fills its adjacency with ``dok_matrix._update``, which
      SciPy removed (since 1.13 a dok matrix keeps its entries in ``_dict``).
    """
    for name, value in (("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)):
        if not hasattr(np, name):
            setattr(np, name, value)
    import scipy.sparse as sp

    if not hasattr(sp.dok_matrix, "_update"):

        def _update(self: Any, data: dict[tuple[int, int], float]) -> None:
            self._dict.update(data)

        sp.dok_matrix._update = _update


def recbole_worker(args: argparse.Namespace) -> None:
    _numpy2_shims()
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.data.interaction import Interaction
    from recbole.model.general_recommender import LightGCN
    from recbole.trainer import Trainer
    from recbole.utils import init_seed

    config = Config(
        model="LightGCN",
        dataset="ms100k",
        config_dict={
            "data_path": str(args.data_dir),
            "benchmark_filename": ["train", "valid", "test"],
            "load_col": {"inter": ["user_id", "item_id"]},
            "epochs": args.epochs,
            "eval_step": 0,  # no validation: a fixed number of epochs on all of train
            "use_gpu": False,
            "show_progress": False,
            "checkpoint_dir": str(args.data_dir / "saved"),
            "state": "WARNING",
        },
    )
    init_seed(config["seed"], config["reproducibility"])
    torch.set_num_threads(args.threads)
    dataset = create_dataset(config)
    train_data, _, _ = data_preparation(config, dataset)
    init_seed(config["seed"], config["reproducibility"])

    start = time.perf_counter()
    model = LightGCN(config, train_data.dataset)
    trainer = Trainer(config, model)
    train_start = time.perf_counter()
    # saved=False: no checkpoint round trip (torch>=2.6 refuses RecBole's torch.load).
    trainer.fit(train_data, valid_data=None, saved=False, show_progress=False)
    end = time.perf_counter()

    train = train_data.dataset
    seen = train.inter_matrix(form="csr").astype(bool)
    user_idx = np.arange(1, train.user_num)  # internal id 0 is RecBole's padding
    model.eval()
    rows = []
    with torch.no_grad():
        for chunk in np.array_split(user_idx, max(1, len(user_idx) // 512)):
            uid = torch.from_numpy(chunk)
            scores = model.full_sort_predict(Interaction({"user_id": uid})).view(len(chunk), -1)
            scores[:, 0] = -torch.inf
            mask = torch.from_numpy(seen[chunk].toarray())
            scores[mask] = -torch.inf
            top_scores, top_items = torch.topk(scores, args.k, dim=1)
            rows.append(
                pd.DataFrame(
                    {
                        "userID": np.repeat(train.id2token("user_id", chunk), args.k),
                        "itemID": train.id2token("item_id", top_items.numpy().ravel()),
                        "prediction": top_scores.numpy().ravel().astype(np.float64),
                    }
                )
            )
    pd.concat(rows).to_csv(args.out, index=False, float_format="%.6f")
    args.stats.write_text(
        json.dumps(
            {
                "fit_s": end - start,
                "s_per_epoch": (end - train_start) / args.epochs,
                "epochs": str(args.epochs),
                "recbole_torch": torch.__version__,
                "recbole_numpy": np.__version__,
            }
        )
    )


# ------------------------------------------------------------------ report
def markdown(results: list[dict[str, Any]], *, k: int) -> str:
    head = (
        f"| model | nDCG@{k} | P@{k} | R@{k} | MAP@{k} | fit | s/epoch | epochs "
        "| threads | load avg before / after fit |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in results:
        quality = " | ".join(f"{r['metrics'][f'{m}@{k}']:.4f}" for m in QUALITY)
        spe = f"{r['s_per_epoch']:.3f}" if r.get("s_per_epoch") else "-"
        lines.append(
            f"| {r['model']} | {quality} | {r['fit_s']:.1f} s | {spe} | {r.get('epochs', '-')} "
            f"| {r['threads']} | {r['load_before']} / {r['load_after']} |"
        )
    ours = results[0]
    lines += [
        "",
        f"| ratio | nDCG@{k} | P@{k} | R@{k} | MAP@{k} | fit time | s/epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results[1:]:
        q = " | ".join(
            f"{ours['metrics'][f'{m}@{k}'] / r['metrics'][f'{m}@{k}']:.3f}" for m in QUALITY
        )
        spe = f"{ours['s_per_epoch'] / r['s_per_epoch']:.3f}" if r.get("s_per_epoch") else "-"
        lines.append(f"| ours / {r['model']} | {q} | {ours['fit_s'] / r['fit_s']:.3f} | {spe} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("recbole-worker", help="internal: runs inside RecBole's venv")
    worker.add_argument("--data-dir", type=Path, required=True)
    worker.add_argument("--epochs", type=int, required=True)
    worker.add_argument("--threads", type=int, required=True)
    worker.add_argument("--k", type=int, required=True)
    worker.add_argument("--out", type=Path, required=True)
    worker.add_argument("--stats", type=Path, required=True)
    parser.add_argument("--train", type=Path, default=DEFAULT_SPLIT / "train.csv")
    parser.add_argument("--test", type=Path, default=DEFAULT_SPLIT / "test.csv")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--recbole-epochs", type=int, nargs="*", default=[100], help="one RecBole run each"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads of both LightGCN fits"
    )
    parser.add_argument("--recbole-venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--out-dir", type=Path, default=REPO / "out" / "side_by_side")
    args = parser.parse_args()
    if args.command == "recbole-worker":
        recbole_worker(args)
        return

    from ms100k_score import score  # bench/ is this script's sys.path[0]

    args.out_dir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []

    def record(name: str, recs: pd.DataFrame, info: dict[str, Any], threads: int | str) -> None:
        path = args.out_dir / f"recs_{len(results)}.csv"
        recs.to_csv(path, index=False, float_format="%.6f")
        info.update(model=name, threads=threads, recs=str(path))
        info["metrics"] = score(path, args.test, k=args.k, train_path=None)
        results.append(info)
        print(f"{name}: {json.dumps(info['metrics'])}, fit {info['fit_s']:.1f} s", file=sys.stderr)

    info: dict[str, Any] = {}
    recs = run_ours(args.train, k=args.k, threads=args.threads, record=info)
    record("our LightGCN (shipped defaults)", recs, info, args.threads)
    for epochs in args.recbole_epochs:
        info = {}
        recs = run_recbole(
            args.train,
            k=args.k,
            epochs=epochs,
            threads=args.threads,
            venv=args.recbole_venv,
            work_dir=args.out_dir,
            record=info,
        )
        record(f"RecBole 1.2.1 LightGCN, defaults, {epochs} epochs", recs, info, args.threads)
    info = {}
    recs = run_ease(args.train, k=args.k, record=info)
    blas = os.environ.get("OMP_NUM_THREADS", "BLAS default")
    record(f"EASE (lambda={EASE_LAMBDA:g})", recs, info, blas)

    (args.out_dir / "results.json").write_text(json.dumps(results, indent=2))
    print(markdown(results, k=args.k))


if __name__ == "__main__":
    main()
