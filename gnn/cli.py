"""Command-line commands owned by `gnn` (registered by graph.cli)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.settings import Settings


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's sub-commands to the ``graphrails`` parser."""
    p = sub.add_parser(
        "benchmark",
        help="train LightGCN on an interactions CSV and write top-k unseen items per user",
        description=(
            "Read TRAIN (columns userID,itemID; other columns such as rating and timestamp "
            "are ignored, every row is a positive), train LightGCN with the shipped defaults "
            "and write userID,itemID,prediction: for every user in TRAIN, the k best items "
            "the user has no row for, best first. Same input and seed: same output."
        ),
    )
    p.add_argument("--train", type=Path, required=True, metavar="TRAIN.csv")
    p.add_argument("--k", type=int, default=10, help="items per user (default: 10)")
    p.add_argument("--out", type=Path, required=True, metavar="RECS.csv")
    p.add_argument("--seed", type=int, default=None, help="training seed (default: config's)")
    p.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: all CPUs)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(handler=cmd_benchmark)


def cmd_benchmark(args: argparse.Namespace, settings: Settings) -> int:
    """Train on ``--train`` and write ``--out``; user errors raise ``CommandError``."""
    import warnings

    from graph.cli import CommandError

    # torch_geometric's import emits a deprecation warning that is not ours to fix.
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated")
    from gnn.benchmark import read_interactions, recommend_interactions, write_recommendations
    from gnn.train import TrainConfig

    if args.k <= 0:
        raise CommandError(f"--k must be a positive integer, got {args.k}")
    if args.threads is not None and args.threads <= 0:
        raise CommandError(f"--threads must be a positive integer, got {args.threads}")
    if not args.out.parent.is_dir():
        raise CommandError(f"--out {args.out}: folder {args.out.parent} does not exist")
    df = read_interactions(args.train)
    overrides = {"seed": args.seed, "num_threads": args.threads}
    config = TrainConfig(**{name: v for name, v in overrides.items() if v is not None})
    recs, result = recommend_interactions(df, k=args.k, config=config, progress=not args.quiet)
    write_recommendations(recs, args.out)
    if not args.quiet:
        print(
            f"{len(recs)} recommendations for {recs['userID'].nunique()} users -> {args.out} "
            f"(fit {result.fit_seconds:.1f} s, {result.best_epoch} epochs, "
            f"{result.seconds_per_epoch:.3f} s/epoch)"
        )
    return 0
