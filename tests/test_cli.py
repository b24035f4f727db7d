"""The command line: help, and errors a user can act on (no Neo4j needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from graph.settings import Settings


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("neo4j", "db", "cypher", "demo", "generate", "load", "train", "evaluate",
                    "benchmark", "serve"):  # fmt: skip
        assert command in out


def use(monkeypatch: pytest.MonkeyPatch, **fields: object) -> None:
    settings = Settings.with_fields(**fields)
    monkeypatch.setattr("cli.main.Settings", lambda: settings)


def test_evaluate_without_any_version_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, models_path=tmp_path)
    assert main(["evaluate"]) == 2
    assert "run graphrails train" in capsys.readouterr().err


def test_bulk_load_refuses_an_external_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, neo4j_uri="bolt://db.example:7687", neo4j_password="x" * 8)
    assert main(["load", "tv", str(tmp_path), "--bulk"]) == 2
    assert "external server" in capsys.readouterr().err


def test_neo4j_commands_refuse_an_external_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, neo4j_uri="bolt://db.example:7687", neo4j_password="x" * 8)
    assert main(["neo4j", "start"]) == 2
    assert "does not start, stop or inspect it" in capsys.readouterr().err


def test_bad_cypher_parameter_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, neo4j_uri="bolt://db.example:7687", neo4j_password="x" * 8)
    assert main(["cypher", "RETURN 1", "--param", "no-equals-sign"]) == 2
    assert "--param 'no-equals-sign' is not of the form name=value" in capsys.readouterr().err


# ------------------------------------------------------------------ hardening (issue 18)
def test_a_rejects_path_that_is_a_directory_stops_the_load_before_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on port 9: a check made after connecting would report that instead.
    use(monkeypatch, neo4j_uri="bolt://127.0.0.1:9", neo4j_password="x" * 8)
    assert main(["load", "tv", str(tmp_path), "--rejects", str(tmp_path)]) == 2
    assert f"--rejects {tmp_path} is a directory" in capsys.readouterr().err
    missing = tmp_path / "no" / "r.csv"
    assert main(["load", "tv", str(tmp_path), "--rejects", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("rows", ["0", "-5", "ten"])
def test_batch_rows_must_be_a_positive_whole_number(
    rows: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["load", "tv", "somewhere", "--batch-rows", rows])
    assert done.value.code == 2
    assert "--batch-rows" in capsys.readouterr().err


def test_a_crash_has_an_exit_code_of_its_own(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> Settings:
        raise RuntimeError("a bug")

    monkeypatch.setattr("cli.main.Settings", broken)
    assert main(["neo4j", "status"]) == 70
    err = capsys.readouterr().err
    assert "RuntimeError: a bug" in err and "crashed (exit 70)" in err


def test_an_error_quoting_escape_codes_prints_them_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, neo4j_uri="bolt://db.example:7687", neo4j_password="x" * 8)
    assert main(["cypher", "RETURN 1", "--param", "\x1b[2J"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[2J" in err


def test_install_says_why_the_class_archive_was_not_saved_and_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from graph.server import LocalServer, ServerError

    use(monkeypatch, home=tmp_path)
    monkeypatch.setattr(LocalServer, "install", lambda self: None)

    def refused(self: LocalServer) -> None:
        raise ServerError("Could not save the JVM's class archive (no space left on device); "
                          "Neo4j starts without it, only slower.")  # fmt: skip

    monkeypatch.setattr(LocalServer, "save_class_archive", refused)
    assert main(["neo4j", "install"]) == 0
    out, err = capsys.readouterr()
    assert "Neo4j jars in" in out
    assert "class archive (no space left on device); Neo4j starts without it" in err
