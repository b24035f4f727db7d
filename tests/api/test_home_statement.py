"""cypher/rails/home.cypher repeats the reads of user_context.cypher in one statement, and
includes the eligibility rules eligible.cypher includes: a rule or a read changed in one
place and not the other would make the one-round-trip home rail disagree with every other
rail. This test holds them together (no Neo4j needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph import queries
from graph.queries import query, statements


def lines(statement: str) -> list[str]:
    """The statement's lines, stripped, blank ones left out."""
    return [line.strip() for line in statement.splitlines() if line.strip()]


def test_home_and_eligible_include_the_same_rules() -> None:
    rules = lines(statements("rails/offers.part")[0])
    for name in ("rails/home", "rails/eligible"):
        statement = lines(query(name))
        start = statement.index(rules[0])
        assert statement[start : start + len(rules)] == rules, name
    # And the impression rule inside them is the one /v1/explain words.
    overexposed = lines(statements("rails/overexposed.part")[0])
    for name in ("rails/home", "rails/eligible", "rails/exclusions"):
        statement = lines(query(name))
        start = statement.index(overexposed[0])
        assert statement[start : start + len(overexposed)] == overexposed, name


def test_includes_name_the_missing_part_and_refuse_cycles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "CYPHER_DIR", tmp_path)
    (tmp_path / "a.cypher").write_text("MATCH (n)\n  // @include b.part\nRETURN n;\n")
    with pytest.raises(FileNotFoundError, match=r"b\.part"):
        queries.source("a")
    (tmp_path / "b.part.cypher").write_text("WHERE n.x = 1\n")
    assert queries.source("a") == "MATCH (n)\nWHERE n.x = 1\n\nRETURN n;\n"
    (tmp_path / "b.part.cypher").write_text("// @include a\n")
    with pytest.raises(ValueError, match="includes itself"):
        queries.source("a")


def test_home_reads_the_user_context_as_user_context_does() -> None:
    home = lines(query("rails/home"))
    context = lines(query("rails/user_context"))
    body = context[: next(i for i, line in enumerate(context) if line.startswith("RETURN u"))]
    start = home.index(body[0])
    assert home[start : start + len(body)] == body


def test_home_and_training_read_the_rankers_user_side_alike() -> None:
    part = lines(statements("rails/ranking_user.part")[0])
    for name in ("rails/home", "rails/ranking_facts"):
        statement = lines(query(name))
        assert any(statement[i : i + len(part)] == part for i in range(len(statement))), (
            f"{name} does not include rails/ranking_user.part"
        )
