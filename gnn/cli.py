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
        "--threads", type=int, default=None, help="torch CPU threads (default: TrainConfig's)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_benchmark)

    p = sub.add_parser(
        "train",
        help="export the graph, train LightGCN, evaluate on a holdout, publish a model version",
        description=(
            "Export the Neo4j graph, fit LightGCN on all but a per-user holdout, score the "
            "holdout, save a version under the models directory and (unless --no-publish) "
            "write the embeddings and the vector index back to Neo4j."
        ),
    )
    p.add_argument("--dim", type=int, default=None, help="embedding size (default: config's)")
    p.add_argument("--layers", type=int, default=None, help="LightGCN layers")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs")
    p.add_argument("--seed", type=int, default=None, help="training seed")
    p.add_argument("--no-publish", action="store_true", help="save the version only")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="score a model version on its holdout (metrics and per-bundle breakdown)",
    )
    p.add_argument("version", nargs="?", help="version name (default: the newest)")
    p.add_argument("--k", type=int, default=10, help="cut-off (default: 10)")
    p.set_defaults(handler=cmd_evaluate)


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
    print(
        f"{len(recs)} recommendations for {recs['userID'].nunique()} users -> {args.out} "
        f"(fit {result.fit_seconds:.1f} s, {len(result.history)} epochs of which "
        f"{result.best_epoch} in the refit, {result.seconds_per_epoch:.3f} s/epoch)"
    )
    return 0


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    """Train a new version from the configured Neo4j; print its metrics."""
    import warnings

    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated")
    from gnn.artifacts import load_version
    from gnn.pipeline import describe, publish, train_version
    from gnn.train import TrainConfig
    from graph.driver import open_driver

    overrides = {"embedding_dim": args.dim, "num_layers": args.layers, "epochs": args.epochs,
                 "seed": args.seed}  # fmt: skip
    config = TrainConfig(**{k: v for k, v in overrides.items() if v is not None})
    with open_driver(settings) as driver:
        outcome = train_version(
            driver, database=settings.neo4j_database, models_dir=settings.models_dir,
            train_config=config, progress=not args.quiet,
        )  # fmt: skip
        print(f"Version {outcome.path.name} saved in {outcome.path}")
        print(f"  fit {outcome.fit_seconds:.1f} s, {outcome.epochs} epochs, "
              f"{outcome.seconds_per_epoch:.3f} s/epoch")  # fmt: skip
        print(describe(outcome.metrics))
        if not args.no_publish:
            model = load_version(outcome.path)
            db = settings.neo4j_database
            written = publish(driver, model, database=db, progress=not args.quiet)
            print("Published to Neo4j: " + ", ".join(f"{n:,} {k}" for k, n in written.items())
                  + " embeddings, vector index program_embedding")  # fmt: skip
    return 0


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """Score a saved version on its holdout."""
    from gnn.artifacts import list_versions
    from graph.cli import CommandError

    versions = list_versions(settings.models_dir)
    if args.version is None:
        if not versions:
            raise CommandError(f"no model version in {settings.models_dir}: run graphrails train")
        path = versions[-1]
    else:
        path = settings.models_dir / args.version
        if not path.is_dir():
            known = ", ".join(v.name for v in versions[-5:]) or "none"
            raise CommandError(f"no version {args.version} in {settings.models_dir} "
                               f"(newest: {known})")  # fmt: skip
    from gnn.pipeline import describe, evaluate_version  # torch: only once there is work
    from graph.driver import open_driver

    with open_driver(settings) as driver:
        metrics = evaluate_version(driver, path, database=settings.neo4j_database, k=args.k)
    print(f"Version {path.name}, holdout metrics:")
    print(describe(metrics))
    return 0
