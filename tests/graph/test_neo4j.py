"""The configured Neo4j: connection, credentials, schema and the cypher command."""

from __future__ import annotations

import json

import pytest
from neo4j import Driver
from pydantic import SecretStr

from cli.main import format_table, main
from graph.driver import GraphConnectionError, open_driver
from graph.schema import init_schema
from graph.settings import Settings

pytestmark = pytest.mark.neo4j


def test_return_one(driver: Driver, neo4j_settings: Settings) -> None:
    records, _, _ = driver.execute_query("RETURN 1 AS one", database_=neo4j_settings.neo4j_database)
    assert records[0]["one"] == 1


def test_wrong_password_is_a_clear_authentication_error(neo4j_settings: Settings) -> None:
    wrong = neo4j_settings.model_copy(update={"neo4j_password": SecretStr("not-the-password")})
    wrong.__dict__.pop("password", None)  # drop the cached value of the property
    with pytest.raises(GraphConnectionError, match="rejected the credentials: authentication"):
        open_driver(wrong)


def test_schema_init_is_idempotent_and_creates_the_five_constraints(
    driver: Driver, neo4j_settings: Settings
) -> None:
    db = neo4j_settings.neo4j_database
    init_schema(driver, database=db)
    init_schema(driver, database=db)
    records, _, _ = driver.execute_query(
        "SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties "
        "WHERE type = 'UNIQUENESS' RETURN labelsOrTypes[0] AS label, properties AS props",
        database_=db,
    )
    unique = {(r["label"], tuple(r["props"])) for r in records}
    for label in ("User", "Program", "Channel", "Genre", "Bundle"):
        assert (label, ("id",)) in unique


def test_the_constraint_rejects_a_duplicate_id(
    driver: Driver, neo4j_settings: Settings, scratch_label: str
) -> None:
    from neo4j.exceptions import ConstraintError

    db = neo4j_settings.neo4j_database
    create = "CREATE (n:Genre:$($label) {id: $id})"
    driver.execute_query(create, label=scratch_label, id=scratch_label, database_=db)
    with pytest.raises(ConstraintError):
        driver.execute_query(create, label=scratch_label, id=scratch_label, database_=db)


def test_cypher_command_prints_json_lines_and_tables(
    neo4j_settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_settings(monkeypatch, neo4j_settings)
    code = main(
        ["cypher", "UNWIND $xs AS x RETURN x, $name AS name", "--param", "xs=[1,2]",
         "--param", "name=tf1", "--json"]
    )  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"x": 1, "name": "tf1"},
        {"x": 2, "name": "tf1"},
    ]

    assert main(["cypher", "RETURN 'a' AS letter"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "(1 row)"


def test_cypher_command_reports_a_bad_statement(
    neo4j_settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_settings(monkeypatch, neo4j_settings)
    assert main(["cypher", "RETURN nope"]) == 2
    assert "Variable `nope` not defined" in capsys.readouterr().err


def test_format_table_aligns_columns() -> None:
    text = format_table(["a", "bb"], [{"a": 1, "bb": "x"}, {"a": 22, "bb": None}])
    assert text.splitlines() == [
        "a  | bb",
        "---+-----",
        '1  | "x"',
        "22 | null",
        "(2 rows)",
    ]


def _use_settings(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setattr("cli.main.Settings", lambda: settings)
