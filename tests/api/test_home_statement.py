"""cypher/rails/home.cypher repeats the rules of eligible.cypher and the reads of
user_context.cypher in one statement: a rule changed in one file and not in the other
would make the one-round-trip home rail disagree with every other rail. This test holds
them together, line by line (no Neo4j needed)."""

from __future__ import annotations

import re

from graph.queries import query

THREADED = re.compile(r"\b(program_ids|check_availability), ")
"""Variables home.cypher carries through the eligibility's WITH clauses."""


def lines(statement: str) -> list[str]:
    """The statement's lines, stripped, with home.cypher's threaded variables left out
    and $program_ids / $check_availability read as the variables home.cypher binds."""
    text = statement.replace("$program_ids", "program_ids").replace(
        "$check_availability", "check_availability"
    )
    return [THREADED.sub("", line).strip() for line in text.splitlines() if line.strip()]


def test_home_holds_every_line_of_the_eligibility_rules() -> None:
    home = " ".join(lines(query("rails/home")))
    missing = [
        line for line in lines(query("rails/eligible"))
        # The lines home.cypher words otherwise: the user (matched once, up front), the
        # series to skip (none: one call per rail), and the wrapping of WITH lists.
        if "$skip_series" not in line and not line.startswith("OPTIONAL MATCH (u:User")
        and line not in home
    ]  # fmt: skip
    wrapped = [line for line in missing if line.startswith("WITH ")]
    assert [line for line in missing if line not in wrapped] == []
    assert len(wrapped) <= 3, wrapped


def test_home_reads_the_user_context_as_user_context_does() -> None:
    home = lines(query("rails/home"))
    context = lines(query("rails/user_context"))
    body = context[: next(i for i, line in enumerate(context) if line.startswith("RETURN u"))]
    start = home.index(body[0])
    assert home[start : start + len(body)] == body
