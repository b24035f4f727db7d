"""``graphrails experiments create|list|stop|report`` (registered by the command line)."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from graph.settings import Settings


def cmd_experiments(args: argparse.Namespace, settings: Settings) -> int:
    from experiments import store
    from experiments.arms import PRESETS, Experiment, parse_arm
    from graph.driver import open_driver

    db = settings.neo4j_database
    with open_driver(settings) as driver:
        if args.action == "create":
            if args.arm and args.preset:
                raise ValueError("give --arm or --preset, not both")
            arms = (
                tuple(parse_arm(a) for a in args.arm)
                if args.arm
                else PRESETS[args.preset or "personalised-vs-popular"]()
            )
            experiment = store.create(
                driver,
                Experiment(name=args.name, salt=args.salt or args.name, arms=arms,
                           description=args.description),
                database=db,
            )  # fmt: skip
            print(f"Experiment {experiment.name} is running (salt {experiment.salt}):")
            for arm in experiment.arms:
                print(f"  {arm.describe()}")
            print(
                "The API applies it within GRAPHRAILS_EXPERIMENTS_POLL_INTERVAL "
                f"({settings.experiments_poll_s:g} s)."
            )
        elif args.action == "list":
            found = store.find(driver, database=db)
            if not found:
                print("No experiment yet (graphrails experiments create NAME).")
            for e in found:
                when = f"{e.created_at:%Y-%m-%d %H:%M}" if e.created_at else "?"
                stopped = f", stopped {e.stopped_at:%Y-%m-%d %H:%M}" if e.stopped_at else ""
                print(f"{e.name}  {e.status}  created {when}{stopped}  salt {e.salt}")
                for arm in e.arms:
                    print(f"    {arm.describe()}")
        elif args.action == "stop":
            was_running = store.stop(driver, args.name, database=db)
            print(
                f"Experiment {args.name} stopped."
                if was_running
                else f"Experiment {args.name} was already stopped."
            )
        elif args.action == "report":
            data = report(driver, settings, args.name, resamples=args.resamples, seed=args.seed)
            if args.prom:
                write_gauges(data, Path(args.prom))
            if args.json:
                print(json.dumps(data, indent=2, ensure_ascii=False))
            else:
                from experiments.metrics import format_report

                print(format_report(data))
    return 0


def report(
    driver: Any, settings: Settings, name: str, *, resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """The report of experiment ``name`` (see :mod:`experiments.metrics`)."""
    from experiments import store
    from experiments.metrics import read_rows
    from experiments.metrics import report as build

    db = settings.neo4j_database
    experiment = store.get(driver, name, database=db)
    window = timedelta(hours=settings.play_window_h)
    exposures, items, catalogue = read_rows(
        driver, name, database=db, window=window, completion=settings.completion_threshold
    )
    if not exposures:
        raise ValueError(
            f"experiment {name} exposed no user yet: no served rail names it "
            "(is the API running, with the served log on?)"
        )
    return build(experiment, exposures, items, catalogue, resamples=resamples, seed=seed,
                 window=window)  # fmt: skip


def write_gauges(data: dict[str, Any], path: Path) -> None:
    """The report as Prometheus gauges in the text format, for node_exporter's textfile
    collector: ``graphrails_experiment_metric{experiment, arm, rail, metric, bound}``."""
    from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

    registry = CollectorRegistry()
    gauge = Gauge(
        "graphrails_experiment_metric",
        "An experiment's online metric per arm and rail; bound: value, low or high (95%).",
        ["experiment", "arm", "rail", "metric", "bound"], registry=registry,
    )  # fmt: skip
    for block in [{"rail": "all", "arms": data["arms"]}, *data["rails"]]:
        for arm in block["arms"]:
            for metric, m in (arm["metrics"] or {}).items():
                for bound in ("value", "low", "high"):
                    gauge.labels(data["experiment"], arm["name"], block["rail"], metric,
                                 bound).set(m[bound])  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``experiments`` to the ``graphrails`` parser."""
    p = sub.add_parser(
        "experiments",
        help="A/B experiments: create, list, stop, report",
        description="A/B experiments on the rails (one runs at a time; arms never change).",
    )
    p.add_argument("action", choices=["create", "list", "stop", "report"])
    p.add_argument("name", nargs="?", help="the experiment (create, stop, report)")
    p.add_argument(
        "--arm", action="append", default=[], metavar="NAME[:key=value,...]",
        help="an arm, repeatable; keys: weight, model_version, popularity_blend, "
        "freshness_blend, fatigue_completion, fatigue_programs, fatigue_series, "
        "fatigue_channels, source (personalised or popular_in_bundle), order (p_complete or "
        "retrieval), fatigue=off",
    )  # fmt: skip
    p.add_argument(
        "--preset", choices=["personalised-vs-popular", "fatigue", "ranker"],
        help="a ready arm set (default without --arm: personalised-vs-popular)",
    )  # fmt: skip
    p.add_argument("--salt", help="assignment salt (default: the name, so a rerun assigns alike)")
    p.add_argument("--description", default="", help="what the experiment tests")
    p.add_argument("--json", action="store_true", help="report: JSON")
    p.add_argument("--resamples", type=int, default=1000, help="report: bootstrap resamples")
    p.add_argument("--seed", type=int, default=0, help="report: bootstrap seed")
    p.add_argument("--prom", metavar="FILE", help="report: also write Prometheus gauges there")
    p.set_defaults(handler=_checked)


def _checked(args: argparse.Namespace, settings: Settings) -> int:
    if args.action != "list" and not args.name:
        raise ValueError(f"experiments {args.action} needs the experiment's NAME")
    return cmd_experiments(args, settings)
