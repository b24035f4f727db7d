"""The one place that reads Cypher: every statement lives in ``cypher/*.cypher``."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

CYPHER_DIR = Path(__file__).resolve().parent.parent / "cypher"
_LINE_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)
_INCLUDE = re.compile(r"^\s*// @include (\S+)\s*$", re.MULTILINE)
"""A line ``// @include <name>`` stands for the text of ``cypher/<name>.cypher`` (a part of
a statement that several statements share, e.g. the eligibility rules)."""


@cache
def query(name: str) -> str:
    """The single statement in ``cypher/<name>.cypher`` (``name`` may hold a sub-folder)."""
    parts = statements(name)
    if len(parts) != 1:
        raise ValueError(f"{_path(name)} holds {len(parts)} statements; expected exactly one")
    return parts[0]


@cache
def statements(name: str) -> tuple[str, ...]:
    """The statements of ``cypher/<name>.cypher``, split on ``;`` at line ends, comments dropped."""
    text = _LINE_COMMENT.sub("", source(name))
    parts = (part.strip() for part in re.split(r";\s*$", text, flags=re.MULTILINE))
    return tuple(part for part in parts if part)


def source(name: str, *, including: tuple[str, ...] = ()) -> str:
    """The text of ``cypher/<name>.cypher`` with its ``// @include`` lines replaced by the
    parts they name (comments kept)."""
    if name in including:
        raise ValueError(f"{_path(name)} includes itself (through {' -> '.join(including)})")
    text = _path(name).read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda m: source(m.group(1), including=(*including, name)), text)


def _path(name: str) -> Path:
    path = CYPHER_DIR / f"{name}.cypher"
    if not path.is_file():
        raise FileNotFoundError(f"no Cypher file {path} (query name '{name}')")
    return path
