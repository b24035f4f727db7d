"""Command-line commands owned by `gnn` (registered by cli.main)."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gnn.train import TrainConfig
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
    _train_options(p)
    p.add_argument("--no-publish", action="store_true", help="save the version only")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="score a model version on its holdout (metrics and per-bundle breakdown)",
    )
    p.add_argument("version", nargs="?", help="version name (default: the newest)")
    p.add_argument("--k", type=int, default=10, help="cut-off (default: 10)")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser(
        "retrain",
        help="train a candidate version, gate it against the serving one, publish it if it passes",
        description=(
            "Export, train and evaluate a candidate on a per-user holdout, then the quality "
            "gate: sanity checks (finite, not collapsed, enough held-out users) and NDCG@10 "
            "no more than GRAPHRAILS_GATE_MARGIN below the serving version's, both scored on "
            "the same held-out pairs. A passing candidate is published (embeddings, vector "
            "index, then the serving flag in one transaction); a refused one stays on disk, "
            "marked refused. Exit code: 0 published, 1 refused, 2 failed, 3 another retrain "
            "is running."
        ),
    )
    _train_options(p)
    p.set_defaults(handler=cmd_retrain)

    p = sub.add_parser("models", help="list, promote or roll back model versions")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser(
        "list", help="versions on disk and in Neo4j: metrics, gate outcome, which one serves"
    )
    a.set_defaults(handler=cmd_models_list)
    a = actions.add_parser("promote", help="verify a version on disk and make it the serving one")
    a.add_argument("version")
    a.add_argument("--force", action="store_true", help="serve it even if the gate refused it")
    a.add_argument("--quiet", action="store_true", help="no progress bars")
    a.set_defaults(handler=cmd_models_promote)
    a = actions.add_parser("rollback", help="serve again the version the serving one replaced")
    a.add_argument("--quiet", action="store_true", help="no progress bars")
    a.set_defaults(handler=cmd_models_rollback)

    p = sub.add_parser(
        "schedule",
        help="retrain on a cron expression (UTC), never two at once",
        description=(
            "Run 'graphrails retrain' on a 5-field crontab line, in UTC (default: "
            "GRAPHRAILS_RETRAIN_CRON). A run is skipped while another retrain holds the lock. "
            "Each run logs one JSON line; retrain metrics go to <models dir>/retrain.prom."
        ),
    )
    p.add_argument("--cron", default=None, metavar="EXPR",
                   help="e.g. '0 3 * * *' (default: GRAPHRAILS_RETRAIN_CRON)")  # fmt: skip
    p.add_argument("--metrics-port", type=int, default=None,
                   help="also serve the retrain metrics for Prometheus on this port")  # fmt: skip
    p.add_argument("--run-now", action="store_true", help="retrain once at start, then schedule")
    p.set_defaults(handler=cmd_schedule)


def _train_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dim", type=int, default=None, help="embedding size (default: config's)")
    p.add_argument("--layers", type=int, default=None, help="LightGCN layers")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs")
    p.add_argument("--seed", type=int, default=None, help="training seed")
    p.add_argument(
        "--holdout",
        choices=("random", "latest"),
        default=None,
        help="what early stopping holds out: a random share of each user's watches "
        "(default) or the latest watches of the data, to fit the next ones (recent ones then "
        "weigh more where that predicts them better)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def cmd_benchmark(args: argparse.Namespace, settings: Settings) -> int:
    """Train on ``--train`` and write ``--out``; user errors raise ``CommandError``."""
    import warnings

    from graph.errors import CommandError

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
    refit = sum(1 for h in result.history if h["phase"] == "refit")
    print(
        f"{len(recs)} recommendations for {recs['userID'].nunique()} users -> {args.out} "
        f"(fit {result.fit_seconds:.1f} s, {len(result.history)} epochs of which "
        f"{refit} in the refit, {result.seconds_per_epoch:.3f} s/epoch)"
    )
    return 0


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    """Train a new version from the configured Neo4j; print its metrics."""
    import warnings

    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated")
    from gnn.pipeline import describe, train_version
    from gnn.publish import PublishRefusedError, publish_trained
    from graph.driver import open_driver
    from graph.errors import CommandError

    config = _train_config(args)
    with open_driver(settings) as driver:
        outcome = train_version(
            driver, database=settings.neo4j_database, models_dir=settings.models_dir,
            train_config=config, progress=not args.quiet,
        )  # fmt: skip
        print(f"Version {outcome.path.name} saved in {outcome.path}")
        print(f"  fit {outcome.fit_seconds:.1f} s, {outcome.epochs} epochs, "
              f"{outcome.seconds_per_epoch:.3f} s/epoch")  # fmt: skip
        print("  " + ", ".join(f"{k} {s:.1f} s" for k, s in outcome.stage_seconds.items()))
        print(describe(outcome.metrics))
        if not args.no_publish:
            started = time.perf_counter()
            try:
                written = publish_trained(driver, settings, outcome.path, outcome.metrics,
                                          progress=not args.quiet)  # fmt: skip
            except PublishRefusedError as e:
                raise CommandError(str(e)) from e
            print(f"Published to Neo4j in {time.perf_counter() - started:.1f} s: "
                  + published_text(written))  # fmt: skip
    return 0


def published_text(written: dict[str, int]) -> str:
    """What a publish wrote, as a sentence: ``written`` as :func:`gnn.pipeline.publish`
    returns it."""
    nodes = " and ".join(f"{written[k]:,} {k}" for k in ("Program", "User") if k in written)
    parts = [f"embeddings of {nodes} nodes"]
    lists = [f"{written[f'{label} candidate lists']:,} {noun}"
             for label, noun in (("User", "users"), ("Program", "programs"))
             if f"{label} candidate lists" in written]  # fmt: skip
    if lists:
        parts.append(f"candidate lists of {' and '.join(lists)}")
    return ", ".join([*parts, "the vector index program_embedding"])


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """Score a saved version on its holdout."""
    from gnn.artifacts import list_versions
    from graph.errors import CommandError

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


def _train_config(args: argparse.Namespace) -> TrainConfig:
    from gnn.train import TrainConfig

    overrides = {"embedding_dim": args.dim, "num_layers": args.layers, "epochs": args.epochs,
                 "seed": args.seed, "holdout": args.holdout}  # fmt: skip
    return TrainConfig(**{k: v for k, v in overrides.items() if v is not None})


def cmd_retrain(args: argparse.Namespace, settings: Settings) -> int:
    """Retrain behind the gate; the exit code says published (0), refused (1), failed (2)."""
    import logging
    import sys
    import warnings

    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated")
    from gnn.retrain import EXIT_LOCKED, RetrainLockedError, run_retrain

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        outcome = run_retrain(settings, train_config=_train_config(args), progress=not args.quiet)
    except RetrainLockedError as e:
        print(f"graphrails retrain: {e}", file=sys.stderr)
        return EXIT_LOCKED
    if outcome.status == "published":
        print(f"Version {outcome.version} published and serving: {outcome.reason}")
    else:
        print(f"graphrails retrain: {outcome.status}: {outcome.reason}", file=sys.stderr)
    return outcome.exit_code


def cmd_models_list(args: argparse.Namespace, settings: Settings) -> int:
    from gnn.retrain import format_models, list_models
    from graph.driver import open_driver
    from graph.queries import query

    with open_driver(settings) as driver:
        records, _, _ = driver.execute_query(
            query("models/versions"), database_=settings.neo4j_database
        )
    rows = list_models(settings.models_dir, [r.data() for r in records])
    if not rows:
        print(f"No model version in {settings.models_dir} or in Neo4j: run graphrails retrain")
        return 0
    print(format_models(rows))
    return 0


@contextlib.contextmanager
def _publishing(settings: Settings) -> Iterator[None]:
    """Hold the retrain lock while a version is published by hand: a retrain finishing
    meanwhile would otherwise publish its own version over it a moment later."""
    from gnn.retrain import RetrainLockedError, retrain_lock
    from graph.errors import CommandError

    try:
        with retrain_lock(settings.models_dir):
            yield
    except RetrainLockedError as e:
        raise CommandError(f"refused: {e}; try again when it has finished") from e


def cmd_models_promote(args: argparse.Namespace, settings: Settings) -> int:
    from gnn.artifacts import ArtifactError
    from gnn.pipeline import promote
    from graph.driver import open_driver
    from graph.errors import CommandError

    with _publishing(settings), open_driver(settings) as driver:
        try:
            replaced = promote(driver, settings.models_dir, args.version,
                               database=settings.neo4j_database, force=args.force,
                               progress=not args.quiet)  # fmt: skip
        except ArtifactError as e:
            raise CommandError(f"refused: {e}") from e
    print(f"Version {args.version} is serving" + (f" (it replaced {replaced})" if replaced else ""))
    return 0


def cmd_models_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from gnn.artifacts import ArtifactError
    from gnn.pipeline import rollback
    from graph.driver import open_driver
    from graph.errors import CommandError

    with _publishing(settings), open_driver(settings) as driver:
        try:
            restored, rolled_back = rollback(driver, settings.models_dir,
                                             database=settings.neo4j_database,
                                             progress=not args.quiet)  # fmt: skip
        except (ArtifactError, RuntimeError) as e:
            raise CommandError(f"refused: {e}") from e
    print(f"Version {restored} is serving again ({rolled_back} rolled back)")
    return 0


def cmd_schedule(args: argparse.Namespace, settings: Settings) -> int:
    """Retrain on a cron expression until interrupted."""
    import logging
    import warnings

    from gnn.schedule import parse_cron, run_schedule
    from graph.errors import CommandError

    cron = args.cron or settings.retrain_cron
    try:
        parse_cron(cron)
    except ValueError as e:
        source = "--cron" if args.cron else "GRAPHRAILS_RETRAIN_CRON"
        raise CommandError(f"{source}: {e}") from e
    if args.metrics_port is not None and not 0 < args.metrics_port < 65536:
        raise CommandError(f"--metrics-port must be in 1..65535, got {args.metrics_port}")
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    run_schedule(settings, cron=cron, metrics_port=args.metrics_port, run_now=args.run_now)
    return 0
