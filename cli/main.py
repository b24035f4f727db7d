"""The ``graphrails`` command line: one sub-command per job.

Each package owns its commands; this module only assembles them, so that
``graphrails --help`` stays fast (heavy imports happen inside the handlers).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from graph.errors import CommandError, printable
from graph.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]

EXIT_ERROR = 2
"""An error the user can fix (arguments, settings, Neo4j unreachable): the message says it."""
EXIT_CRASHED = 70
"""An unexpected failure (sysexits' EX_SOFTWARE): the traceback is printed. A command's own
codes (load: 1 for rows rejected; retrain: 1 refused, 3 busy) stay below it."""
DEMO_BANNED_GENRES = ("information", "meteo")
"""The genres the demo bans from its rails, when its data has them: news and weather."""


# ------------------------------------------------------------------ neo4j
def _server(settings: Settings) -> Any:
    from graph.server import LocalServer

    if not settings.managed:
        raise CommandError(
            f"NEO4J_URI={settings.neo4j_uri} is set, so Neo4j is external: "
            "graphrails does not start, stop or inspect it. Unset NEO4J_URI to use the local one."
        )
    return LocalServer(settings)


def cmd_neo4j(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "browser":
        print(browser_help(settings))
        from graph.server import API_URL

        print(
            "  style:       applied on connect while the API runs (graphrails demo / serve);"
            f" else run :style {API_URL}/browser/graphrails.grass\n"
            "               or drop api/static/browser/graphrails.grass onto the :style frame\n"
            f"  guide:       :guide {API_URL}/browser/guide.html (every saved query, runnable)\n"
            "  queries:     cypher/explore/*.cypher, listed in docs/browser/README.md"
        )
        return 0
    server = _server(settings)
    if args.action == "install":
        from graph.server import ServerError

        server.install()
        print(f"Neo4j jars in {server.lib}")
        try:
            archive = server.save_class_archive()
        except ServerError as e:
            print(e, file=sys.stderr)
        else:
            if archive is not None:
                print(f"Neo4j's class archive (faster starts) in {archive}")
    elif args.action == "start":
        print(server.start().describe())
    elif args.action == "stop":
        was_running = server.stop()
        print("Neo4j stopped." if was_running else "Neo4j was not running.")
    elif args.action == "status":
        status = server.status()
        print(status.describe())
        return 0 if status.running else 3
    elif args.action == "logs":
        path = server.log_file if server.log_file.exists() else server.console_log
        if not path.exists():
            raise CommandError(f"no log yet at {path}: the server has never started")
        lines = path.read_text(errors="replace").splitlines()[-args.lines :]
        print("\n".join(lines))
    return 0


def browser_help(settings: Settings) -> str:
    where = (
        f"the password in {settings.password_file}"
        if settings.managed and settings.neo4j_password is None
        else "NEO4J_PASSWORD"
    )
    return (
        f"Neo4j Browser: {settings.browser_url}\n"
        f"  connect URL: {settings.uri}   user: {settings.neo4j_user}   password: {where}"
    )


# ------------------------------------------------------------------ db / cypher
def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from graph.driver import open_driver
    from graph.schema import init_schema

    with open_driver(settings) as driver:
        count = init_schema(driver, database=settings.neo4j_database)
    print(f"Schema applied: {count} statements on database '{settings.neo4j_database}'.")
    return 0


def parse_param(text: str) -> tuple[str, Any]:
    """``name=value``; the value is read as JSON when it parses (numbers, lists...), else text."""
    name, sep, raw = text.partition("=")
    if not sep or not name.isidentifier():
        raise CommandError(f"--param '{text}' is not of the form name=value")
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


def cmd_cypher(args: argparse.Namespace, settings: Settings) -> int:
    from neo4j.exceptions import Neo4jError

    from graph.driver import open_driver

    params = dict(parse_param(p) for p in args.param)
    # An auto-commit transaction, as cypher-shell runs it: it allows
    # CALL { ... } IN TRANSACTIONS for large updates.
    with open_driver(settings) as driver, driver.session(database=settings.neo4j_database) as s:
        try:
            result = s.run(args.statement, params)
            rows = [record.data() for record in result]
            keys = result.keys()
        except Neo4jError as e:
            raise CommandError(f"Neo4j refused the statement: {e.message}") from e
    if args.json:
        for row in rows:
            print(json.dumps(row, default=str, ensure_ascii=False))
    else:
        print(format_table(list(keys), rows))
    return 0


def format_table(keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """Rows as an aligned text table, with the row count underneath."""
    cells = [[json.dumps(r[k], default=str, ensure_ascii=False) for k in keys] for r in rows]
    widths = [max([len(k), *(len(c[i]) for c in cells)]) for i, k in enumerate(keys)]
    line = "-+-".join("-" * w for w in widths)
    out = [" | ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)), line] if keys else []
    out += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    out = [row.rstrip() for row in out]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


# ------------------------------------------------------------------ demo
def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """The README's main job: Neo4j, a synthetic TV data set, a model, the API."""
    import datetime as dt

    from gnn.pipeline import describe, train_version
    from gnn.publish import PublishRefusedError, publish_trained
    from graph.driver import open_driver
    from graph.queries import query
    from graph.schema import init_schema
    from loaders.generate import generate_tv
    from loaders.generate.world import GENRES
    from loaders.tv import graph_counts, load_tv
    from loaders.writer import format_summaries

    print("[1/5] Starting Neo4j and applying the schema")
    if settings.managed:
        print(_server(settings).start().describe())
    else:
        print(f"  using {settings.neo4j_uri} (not managed by graphrails)")
    # The EPG week starts three days ago, so "now" falls in the middle of it; every
    # generated watch happens before now, so new watches sort after them.
    now = dt.datetime.now(dt.UTC)
    start = now.date() - dt.timedelta(days=3)
    folder = settings.home / "demo" / f"tv-{args.users}u-{args.programs}p-{start.isoformat()}"
    if (folder / "watch_events.csv").exists():
        print(f"\n[2/5] Reusing today's data set in {folder} (delete the folder to regenerate)")
    else:
        print(f"\n[2/5] Generating {args.users:,} users and {args.programs:,} programs in {folder}")
        generate_tv(
            folder, users=args.users, programs=args.programs, seed=1, start=start, until=now
        )
    db = settings.neo4j_database
    with open_driver(settings) as driver:
        init_schema(driver, database=db)
        print("\n[3/5] Loading it into Neo4j (idempotent: a second run changes nothing)")
        report = load_tv(driver, folder, database=db)
        print(format_summaries(report.files))
        print(
            "  graph: "
            + ", ".join(f"{k} {n:,}" for k, n in graph_counts(driver, database=db).items())
        )
        print("\n[4/5] Training LightGCN and publishing the embeddings")
        outcome = train_version(driver, database=db, models_dir=settings.models_dir)
        print(f"  version {outcome.path.name}: fit {outcome.fit_seconds:.0f} s")
        print(describe(outcome.metrics))
        try:
            publish_trained(driver, settings, outcome.path, outcome.metrics, progress=True)
        except PublishRefusedError as e:
            raise CommandError(str(e)) from e
        records, _, _ = driver.execute_query(
            query("explore/most_active_users"), limit=1, database_=db
        )
    example = records[0]["user_id"] if records else "u0000000"
    # As the broadcaster's jobs do, the demo keeps news and weather bulletins out of every
    # rail (the generated genres it has of them), unless GRAPHRAILS_BANNED_GENRES says.
    banned = settings.banned_genres or tuple(g.id for g in GENRES if g.id in DEMO_BANNED_GENRES)
    url = f"http://{args.host}:{args.port}"
    print("\n[5/5] Serving the rails API")
    print(f"  API docs:      {url}/docs")
    print(f"  a home rail:   {url}/v1/users/{example}/rails/home")
    print(f"  its reasons:   {url}/v1/users/{example}/rails/because-you-watched")
    print(f"  unknown user:  {url}/v1/users/someone-new/rails/home")
    print(f"  rails preview: {url}/demo?user={example}")
    print(f"  banned genres: {', '.join(banned) or 'none'} (GRAPHRAILS_BANNED_GENRES)")
    print("  " + browser_help(settings).replace("\n", "\n  "))
    if args.no_serve:
        return 0
    import uvicorn

    from api.main import create_app

    # The preview page is what the demo is for: it lists users, so it is off elsewhere.
    demo_settings = settings.model_copy(update={"demo_pages": True, "banned_genres": banned})
    uvicorn.run(create_app(demo_settings), host=args.host, port=args.port, log_level="warning")
    return 0


# ------------------------------------------------------------------ assembly
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphrails", description="Graph-based recommendation rails for TV streaming."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("neo4j", help="manage the local Neo4j server")
    p.add_argument("action", choices=["install", "start", "stop", "status", "logs", "browser"])
    p.add_argument("-n", "--lines", type=int, default=50, help="log lines to show (logs)")
    p.set_defaults(handler=cmd_neo4j)

    p = sub.add_parser("db", help="database administration")
    p.add_argument("action", choices=["init"], help="init: apply cypher/schema.cypher")
    p.set_defaults(handler=cmd_db)

    p = sub.add_parser("cypher", help="run one Cypher statement and print its rows")
    p.add_argument("statement")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="repeatable")
    p.add_argument("--json", action="store_true", help="one JSON object per row")
    p.set_defaults(handler=cmd_cypher)

    p = sub.add_parser(
        "demo",
        help="the end-to-end demo (the README's main command)",
        description="Start Neo4j, generate and load a synthetic TV data set, train, serve.",
    )
    p.add_argument("--users", type=int, default=5_000, help="(default: 5000)")
    p.add_argument("--programs", type=int, default=2_000, help="(default: 2000)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-serve", action="store_true", help="stop after training and publishing")
    p.set_defaults(handler=cmd_demo)

    # Each package owns its commands; their modules import nothing heavy at the top.
    from api.cli import add_commands as add_api_commands
    from gnn.cli import add_commands as add_gnn_commands
    from loaders.cli import add_commands as add_loader_commands

    add_loader_commands(sub)
    add_gnn_commands(sub)
    add_api_commands(sub)
    from cli.screenshots import add_command as add_screenshots_command

    add_screenshots_command(sub)
    from experiments.cli import add_commands as add_experiment_commands
    from sim.cli import add_commands as add_sim_commands

    add_experiment_commands(sub)
    add_sim_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    from graph.driver import GraphConnectionError
    from graph.server import ServerError

    try:
        return handler(args, Settings())
    except (CommandError, GraphConnectionError, ServerError, ValueError) as e:
        print(printable(f"graphrails {args.command}: error: {e}"), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception:
        # A bug or a failure nobody foresaw: the traceback is for a report, and the exit
        # code tells a wrapper it is not "rows rejected" (1) nor an error to fix (2).
        print(printable(traceback.format_exc()), file=sys.stderr)
        print(f"graphrails {args.command}: crashed (exit {EXIT_CRASHED}); the traceback "
              "above says where", file=sys.stderr)  # fmt: skip
        return EXIT_CRASHED


if __name__ == "__main__":
    sys.exit(main())
