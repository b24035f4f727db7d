"""Command-line commands owned by `loaders` (registered by graph.cli).

Handlers import pandas and the generator lazily, so ``graphrails --help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.settings import Settings


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's sub-commands to the ``graphrails`` parser."""
    _add_generate(sub)


# ------------------------------------------------------------------ generate
def _add_generate(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "generate",
        help="write a synthetic data set that follows the data contract (docs/data.md)",
        description="Write a synthetic data set; same arguments, same bytes.",
    )
    p.add_argument("kind", choices=["tv"], help="tv: French live TV, replay and VOD")
    p.add_argument("--users", type=int, default=10_000, help="number of users (default: 10000)")
    p.add_argument("--programs", type=int, default=5_000, help="number of programs (default: 5000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--out", required=True, help="folder to write the files to (created)")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv", help="(default: csv)")
    p.add_argument(
        "--start",
        default=None,
        metavar="YYYY-MM-DD",
        help="first day of the 7-day EPG, 00:00 UTC (default: 2025-01-06)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=cmd_generate)


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from loaders.generate import DEFAULT_START, generate_tv, parse_start

    start = parse_start(args.start) if args.start is not None else DEFAULT_START
    summary = generate_tv(
        args.out,
        users=args.users,
        programs=args.programs,
        seed=args.seed,
        fmt=args.format,
        start=start,
        progress=not args.quiet,
    )
    print(summary.describe())
    return 0
