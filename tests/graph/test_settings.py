from __future__ import annotations

from pathlib import Path

import pytest

from graph.server import resolve_password
from graph.settings import Settings


def make(tmp_path: Path, **env: str) -> Settings:
    return Settings(_env_file=None, GRAPHRAILS_HOME=str(tmp_path), **env)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE", "GRAPHRAILS_HOME"):
        monkeypatch.delenv(name, raising=False)


def test_local_server_is_managed_and_generates_a_password_once(tmp_path: Path) -> None:
    settings = make(tmp_path)
    assert settings.managed
    assert settings.uri == "bolt://127.0.0.1:7687"
    first = resolve_password(settings)
    assert len(first) >= 16 and first.isalnum()
    assert settings.password_file.stat().st_mode & 0o777 == 0o600
    assert resolve_password(make(tmp_path)) == first


def test_external_uri_is_not_managed_and_needs_a_password(tmp_path: Path) -> None:
    settings = make(tmp_path, NEO4J_URI="neo4j+s://example.databases.neo4j.io")
    assert not settings.managed
    with pytest.raises(ValueError, match="NEO4J_PASSWORD is not set"):
        _ = resolve_password(settings)
    assert not settings.password_file.exists()


def test_environment_names_match_the_docker_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEO4J_URI", "bolt://neo4j:7687")
    monkeypatch.setenv("NEO4J_USER", "alice")
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret-pass")
    monkeypatch.setenv("NEO4J_DATABASE", "tv")
    settings = Settings(_env_file=None)
    assert (
        settings.uri,
        settings.neo4j_user,
        resolve_password(settings),
        settings.neo4j_database,
    ) == (
        "bolt://neo4j:7687",
        "alice",
        "s3cret-pass",
        "tv",
    )


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("NEO4J_DATABASE=fromfile\nGRAPHRAILS_NEO4J_BOLT_PORT=9999\n")
    settings = Settings(_env_file=env_file)
    assert settings.neo4j_database == "fromfile"
    assert settings.uri == "bolt://127.0.0.1:9999"


def test_a_lost_password_file_is_reported_not_regenerated(tmp_path: Path) -> None:
    settings = make(tmp_path)
    auth = settings.instance_dir / "data" / "dbms" / "auth.ini"
    auth.parent.mkdir(parents=True)
    auth.write_text("x")
    from graph.server import ServerError

    with pytest.raises(ServerError, match=r"its file .* is gone"):
        _ = resolve_password(settings)


def test_fields_are_read_only_under_their_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOME", "INSTANCE", "HEAP", "BOLT_PORT"):
        monkeypatch.setenv(name, "/wrong" if name == "HOME" else "1")
    monkeypatch.setenv("GRAPHRAILS_HOME", "/right")
    settings = Settings(_env_file=None)
    assert (settings.home.as_posix(), settings.instance, settings.heap) == (
        "/right",
        "default",
        "2g",
    )
    assert settings.uri.endswith(":7687")


def test_reading_settings_writes_nothing(tmp_path: Path) -> None:
    settings = make(tmp_path)
    for name, attribute in vars(Settings).items():
        if isinstance(attribute, property):
            getattr(settings, name)
    assert list(tmp_path.iterdir()) == []
    resolve_password(settings)  # the explicit step that may write
    assert settings.password_file.exists()
