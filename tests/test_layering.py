"""The package rules of the tree, read from the source with ``ast`` (nothing is imported).

Data flows one way: files -> loaders -> Neo4j -> gnn -> model artifacts -> api, with
``graph/`` (settings, driver, server, domain words) on the ground floor and ``cli/`` (the
composition root) at the top. Every import counts, including those inside functions and
under ``TYPE_CHECKING``: a circle that only the type checker walks is still a circle to
a reader.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("graph", "gnn", "api", "loaders", "experiments", "sim", "cli")

MAY_IMPORT: dict[str, set[str]] = {
    "graph": set(),
    "loaders": {"graph"},
    "gnn": {"graph"},
    "experiments": {"graph"},
    "api": {"graph", "gnn", "experiments"},
    "sim": {"graph", "experiments"},
    "cli": {"graph", "gnn", "api", "loaders", "experiments", "sim"},
}
"""The other packages each package may import; nothing imports ``cli``."""

API_MAY_IMPORT_FROM_GNN = {"gnn.artifacts", "gnn.genre_channel", "gnn.idmap", "gnn.ranker"}
"""The API reads model artifacts (and scores with the ranker and the genre/channel term they
hold); it never imports the trainer (export, train, retrain, ranker_train...)."""


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    source: str
    """The module the import is written in."""
    target: str
    """The module it imports (a submodule when ``from package import submodule``)."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.target}"


def modules(root: Path) -> dict[str, Path]:
    """Module name -> file (relative to ``root``), for every file of our packages."""
    found = {}
    for package in PACKAGES:
        for p in sorted((root / package).rglob("*.py")):
            parts = list(p.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = p.relative_to(root)
    return found


def imports(root: Path, known: dict[str, Path]) -> Iterator[Import]:
    """Every import of our packages, from every module of them."""
    for source, path in known.items():
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        text = (root / path).read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text, str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in known else base)
            for target in targets:
                if target.split(".")[0] in PACKAGES:
                    yield Import(path, node.lineno, source, target)


def rule_breaches(root: Path) -> list[str]:
    """Imports against :data:`MAY_IMPORT` and :data:`API_MAY_IMPORT_FROM_GNN`, one line each."""
    wrong = []
    for imp in imports(root, modules(root)):
        mine, theirs = imp.source.split(".")[0], imp.target.split(".")[0]
        if mine == theirs:
            continue
        if theirs not in MAY_IMPORT[mine]:
            allowed = ", ".join(sorted(MAY_IMPORT[mine])) or "no other package"
            wrong.append(f"{imp}: {mine}/ may import {allowed}")
        elif mine == "api" and theirs == "gnn" and imp.target not in API_MAY_IMPORT_FROM_GNN:
            allowed = ", ".join(sorted(API_MAY_IMPORT_FROM_GNN))
            wrong.append(f"{imp}: api/ reads model artifacts ({allowed}), never the trainer")
    return list(dict.fromkeys(wrong))  # "from x import a, b" is one line, not two


def circles(root: Path) -> list[str]:
    """Every import circle between files found by a depth-first walk, as its imports."""
    known = modules(root)
    edges: dict[str, dict[str, Import]] = {name: {} for name in known}
    for imp in imports(root, known):
        if imp.target in known and imp.target != imp.source:
            edges[imp.source].setdefault(imp.target, imp)
    found = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(edges[name]):
            if state.get(target) == 1:
                loop = path[path.index(target) :]
                steps = [edges[a][b] for a, b in zip(loop, [*loop[1:], target], strict=True)]
                found.append("\n  ".join(str(s) for s in steps))
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(known):
        if name not in state:
            visit(name)
    return found


def test_packages_import_only_the_floors_below_them() -> None:
    wrong = rule_breaches(ROOT)
    assert not wrong, "imports against the package rules:\n" + "\n".join(wrong)


def test_no_import_circles_between_files() -> None:
    found = circles(ROOT)
    assert not found, "import circles:\n  " + "\n\n  ".join(found)


def test_the_checks_name_the_file_and_the_import(tmp_path: Path) -> None:
    """A ground floor that imports upward (inside a function, where such imports hid) and
    two files that import each other are both found, each named by file, line and import."""
    for package, text in {
        "graph": "def f():\n    from api.routes import x\n",
        "api": "from api import routes\n",
        "gnn": "",
        "loaders": "",
        "cli": "",
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "core.py").write_text(text)
    (tmp_path / "api" / "routes.py").write_text("import api.core\n")
    assert rule_breaches(tmp_path) == [
        "graph/core.py:2 imports api.routes: graph/ may import no other package"
    ]
    assert circles(tmp_path) == [
        "api/core.py:1 imports api.routes\n  api/routes.py:1 imports api.core"
    ]
