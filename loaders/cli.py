"""Command-line commands owned by `loaders` (registered by cli.main).

Handlers import pandas and the generator lazily, so ``graphrails --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.settings import Settings


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's sub-commands to the ``graphrails`` parser."""
    _add_generate(sub)
    _add_load(sub)


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
    from loaders.generate import generate_tv, parse_start
    from loaders.generate.world import DEFAULT_START

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


# ------------------------------------------------------------------ load
def _add_load(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "load",
        help="validate a data set and load it into Neo4j",
        description=(
            "Validate, then write the valid rows in batched transactions. Loading the same "
            "files again changes nothing. Exit code 0: loaded; 1: loaded, but rows were "
            "rejected (see --rejects); 2: nothing loaded, an error to fix (arguments, "
            "Neo4j unreachable); 70: crashed (a bug: the traceback is printed)."
        ),
    )
    p.add_argument(
        "kind",
        choices=["tv", "movielens", "events"],
        help="tv: a contract folder (docs/data.md); movielens: RecBole atomic files; "
        "events: one more watch_events file for a loaded graph",
    )
    p.add_argument("path", help="the folder (tv, movielens) or file (events)")
    p.add_argument(
        "--allow-rejects", action="store_true", help="exit 0 even when rows were rejected"
    )
    p.add_argument(
        "--rejects",
        default="rejects.csv",
        metavar="FILE",
        help="where to write the rejects report, if any (default: ./rejects.csv)",
    )
    p.add_argument(
        "--batch-rows",
        type=positive_int,
        default=None,
        help="rows per transaction, at least 1 (default: 10000)",
    )
    p.add_argument(
        "--bulk",
        action="store_true",
        help="tv only: a first load into an empty database of the local server with Neo4j's "
        "import tool (stops and restarts the server)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=cmd_load)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (0 used to mean the default)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def check_rejects_path(path: Path) -> None:
    """Refuse a rejects report that could not be written, before anything is loaded (the
    rejects of a whole load were lost to an ``IsADirectoryError`` at the end)."""
    from graph.errors import CommandError

    if path.is_dir():
        raise CommandError(
            f"--rejects {path} is a directory; name a file, such as {path}/rejects.csv"
        )
    if not path.parent.is_dir():
        raise CommandError(f"--rejects {path}: the folder {path.parent} does not exist")
    if path.exists() and not os.access(path, os.W_OK):
        raise CommandError(f"--rejects {path} is not writable")
    if not path.exists() and not os.access(path.parent, os.W_OK):
        raise CommandError(f"--rejects {path}: the folder {path.parent} is not writable")


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from graph.driver import open_driver
    from graph.schema import init_schema
    from loaders.movielens import load_movielens
    from loaders.tv import graph_counts, load_events, load_tv
    from loaders.writer import DEFAULT_BATCH_ROWS, format_summaries

    check_rejects_path(Path(args.rejects))
    if args.bulk:
        return _bulk(args, settings)
    loader = {"tv": load_tv, "movielens": load_movielens, "events": load_events}[args.kind]
    started = time.perf_counter()
    with open_driver(settings) as driver:
        db = settings.neo4j_database
        init_schema(driver, database=db)
        report = loader(
            driver,
            args.path,
            database=db,
            batch_rows=DEFAULT_BATCH_ROWS if args.batch_rows is None else args.batch_rows,
            progress=not args.quiet,
        )
        counts = graph_counts(driver, database=db)
    elapsed = time.perf_counter() - started
    print(format_summaries(report.files))
    print(f"\nGraph now ({elapsed:.1f} s):")
    print("  " + ", ".join(f"{name} {n:,}" for name, n in counts.items()))
    return _finish(args, report)


def _bulk(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from graph.errors import CommandError
    from graph.server import LocalServer
    from loaders.bulk import bulk_load_tv
    from loaders.writer import format_summaries

    if args.kind != "tv":
        raise CommandError("--bulk loads a tv data set only")
    if not settings.managed:
        raise CommandError(
            "--bulk runs Neo4j's import tool on the local server's files; with NEO4J_URI set "
            "(external server) load without --bulk"
        )
    started = time.perf_counter()
    report = bulk_load_tv(
        LocalServer(settings), args.path, database=settings.neo4j_database, progress=not args.quiet
    )
    print(format_summaries(report.files))
    print(f"\nBulk import done in {time.perf_counter() - started:.1f} s")
    return _finish(args, report)


def _finish(args: argparse.Namespace, report: Any) -> int:
    import sys

    from loaders.rejects import write_rejects_report

    for note in report.notes:
        print(note)
    if report.rejects:
        written = write_rejects_report(report.rejects, args.rejects)
        print(
            f"{written:,} rows rejected; file, row, column and reason of each in {args.rejects}",
            file=sys.stderr,
        )
        for reject in report.rejects[:5]:
            print(f"  {reject}", file=sys.stderr)
        if not args.allow_rejects:
            return 1
    return 0
