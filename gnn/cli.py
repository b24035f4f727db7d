"""Command-line commands owned by `gnn` (registered by graph.cli)."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this package's sub-commands to the ``graphrails`` parser."""
