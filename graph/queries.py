"""The one place that reads Cypher: every statement lives in ``cypher/*.cypher``."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

CYPHER_DIR = Path(__file__).resolve().parent.parent / "cypher"
_LINE_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)


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
    text = _LINE_COMMENT.sub("", _path(name).read_text(encoding="utf-8"))
    parts = (part.strip() for part in re.split(r";\s*$", text, flags=re.MULTILINE))
    return tuple(part for part in parts if part)


def _path(name: str) -> Path:
    path = CYPHER_DIR / f"{name}.cypher"
    if not path.is_file():
        raise FileNotFoundError(f"no Cypher file {path} (query name '{name}')")
    return path
