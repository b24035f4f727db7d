"""Command-line commands owned by ``api`` (registered by cli.main)."""

from __future__ import annotations

import argparse
from typing import Any

from graph.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import os

    # The API's matrix products are small: a multi-threaded BLAS only keeps a
    # worker spinning between them (measured: most of a core under load).
    # It must be set before NumPy loads; an operator's own value wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import uvicorn

    from api.main import create_app

    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's sub-commands to the ``graphrails`` parser."""
    p = sub.add_parser("serve", help="serve the rails API (FastAPI)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(handler=cmd_serve)
