"""The local server manager: pure checks, then the real server's life cycle."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver, GraphDatabase
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from graph.server import LocalServer, ServerError, _java, resolve_password
from graph.settings import Settings
from tests.conftest import neo4j_test_settings


def test_refuses_to_manage_an_external_server(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None, NEO4J_URI="bolt://db.example:7687", GRAPHRAILS_HOME=str(tmp_path)
    )
    with pytest.raises(ServerError, match="external server"):
        LocalServer(settings)


def test_too_old_java_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin" / "java"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(ServerError, match=r"Java 11; Neo4j 5\.26 needs Java 17 or 21"):
        _java()


def test_diagnose_names_the_likely_cause(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, GRAPHRAILS_HOME=str(tmp_path))
    server = LocalServer(settings)
    server.logs_dir.mkdir(parents=True)
    server.console_log.write_text(
        "Error occurred during initialization of VM\n"
        "Could not reserve enough space for object heap\n"
    )
    text = server.diagnose()
    assert "not enough memory" in text
    assert "Could not reserve enough space" in text


def test_a_start_maps_the_class_archive_unless_it_is_turned_off(tmp_path: Path) -> None:
    on = LocalServer(Settings(_env_file=None, GRAPHRAILS_HOME=str(tmp_path)))
    java = _java()
    assert on._archive_flags(java) == []  # none saved yet: a start as before
    archive = on.class_archive(java)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"saved")
    assert on._archive_flags(java) == [f"-XX:SharedArchiveFile={archive}"]
    off = LocalServer(
        Settings(_env_file=None, GRAPHRAILS_HOME=str(tmp_path), GRAPHRAILS_NEO4J_CLASS_ARCHIVE="0")
    )
    assert off._archive_flags(java) == []
    assert off.save_class_archive() == archive  # kept, not made again, and nothing started


@pytest.mark.neo4j
def test_a_class_archive_that_cannot_be_saved_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = neo4j_test_settings(instance="lifecycle", bolt_port=17688, http_port=17475)
    if not settings.managed:
        pytest.skip("NEO4J_URI is set: no local server")
    # Another Java path is another archive, not saved yet (the same JDK, linked).
    real = Path(_java()).resolve().parent.parent
    (tmp_path / "jdk").mkdir()
    for entry in real.iterdir():
        (tmp_path / "jdk" / entry.name).symlink_to(entry)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        monkeypatch.setattr("graph.server.free_ports", lambda n: [taken, taken + 1])
        server = LocalServer(settings)
        archive = server.class_archive()
        with pytest.raises(ServerError, match=rf"class archive \(Port {taken} .*only slower"):
            server.save_class_archive()
    assert not archive.exists()
    assert not list(archive.parent.glob(f"{archive.stem}.*"))
    instances = settings.home / "neo4j" / "instances"
    assert not list(instances.glob(f"class-archive-{os.getpid()}"))


@pytest.mark.neo4j
@pytest.mark.slow
def test_every_start_maps_the_class_archive_saved_once() -> None:
    """``graphrails neo4j install`` saves the JVM's class archive (issue 18: a Neo4j just
    started answers its first statements sooner); every instance's start maps it."""
    settings = neo4j_test_settings(
        instance="lifecycle", bolt_port=17688, http_port=17475, heap="512m", pagecache="128m"
    )
    if not settings.managed:
        pytest.skip("NEO4J_URI is set: no local server to start")
    server = LocalServer(settings)
    archive = server.save_class_archive()  # saved at install already; else saved now
    assert archive is not None and archive.stat().st_size > 10_000_000
    assert server.save_class_archive() == archive  # once
    status = server.start()
    try:
        assert str(archive) in Path(f"/proc/{status.pid}/maps").read_text()
    finally:
        server.stop()


@pytest.mark.neo4j
@pytest.mark.slow
def test_port_taken_fails_fast_with_a_clear_message() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        settings = neo4j_test_settings(instance="porttaken", bolt_port=port, http_port=port + 1)
        if not settings.managed:
            pytest.skip("NEO4J_URI is set: no local server to start")
        with pytest.raises(ServerError, match=rf"Port {port} .* already taken"):
            LocalServer(settings).start()


@pytest.mark.neo4j
@pytest.mark.slow
def test_start_status_stop_leaves_no_java_process() -> None:
    settings = neo4j_test_settings(
        instance="lifecycle", bolt_port=17688, http_port=17475, heap="512m", pagecache="128m"
    )
    if not settings.managed:
        pytest.skip("NEO4J_URI is set: no local server to start")
    server = LocalServer(settings)
    status = server.start()
    try:
        assert status.running and status.pid is not None
        assert server.status().running
        # The Browser is served by the same server, without authentication.
        page = subprocess.run(
            ["curl", "-s", "http://127.0.0.1:17475/browser/"], capture_output=True, text=True
        ).stdout
        assert "<title>Neo4j Browser</title>" in page
        # Starting again is a no-op on the running server.
        assert server.start().pid == status.pid
    finally:
        assert server.stop()
    assert not server.status().running
    proc = Path(f"/proc/{status.pid}/stat")
    assert not proc.exists(), proc.read_text()
    ours = subprocess.run(
        ["pgrep", "-f", f"--home-dir={server.dir}"], capture_output=True, text=True
    ).stdout
    assert ours.strip() == ""
    assert not server.stop()  # stopping a stopped server is fine and says so


@pytest.mark.neo4j
@pytest.mark.slow
def test_a_password_that_looks_like_an_option_is_accepted() -> None:
    settings = neo4j_test_settings(
        instance="dashpassword", bolt_port=17690, http_port=17477, heap="512m", pagecache="64m",
        neo4j_password="-starts-with-a-dash",
    )  # fmt: skip
    if not settings.managed:
        pytest.skip("NEO4J_URI is set: no local server to start")
    server = LocalServer(settings)
    try:
        assert server.start().running
    finally:
        server.stop()


@pytest.mark.neo4j
def test_the_initial_password_never_reaches_a_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """neo4j-admin sets it from an argument file (mode 600, deleted after): the process list
    shows every command line to every user of the machine while it runs."""
    password = '-a "long" pass\\word ' + uuid.uuid4().hex
    settings = neo4j_test_settings(instance=f"pw-{uuid.uuid4().hex[:8]}", neo4j_password=password)
    if not settings.managed:
        pytest.skip("NEO4J_URI is set: no local server to set up")
    server = LocalServer(settings)
    commands: list[list[str]] = []
    real_run = subprocess.run

    def recording_run(cmd: list[str], **kwargs: Any) -> Any:
        commands.append(list(cmd))
        return real_run(cmd, **kwargs)

    monkeypatch.setattr("graph.server.subprocess.run", recording_run)
    try:
        server.conf_dir.mkdir(parents=True, exist_ok=True)
        server._write_config()
        server._ensure_initial_password(None)  # type: ignore[arg-type]
        assert commands, "neo4j-admin was not run"
        assert not [c for c in commands if any(password in part for part in c)]
        assert not list(server.dir.glob(".initial-password*")), "the argument file stayed"
        # What neo4j-admin stored is a hash of exactly that password (Neo4j's format:
        # SHA-256 of salt + password, then rehashed, `iterations` times in all).
        line = (server.data_dir / "dbms" / "auth.ini").read_text()
        _, digest, salt, iterations = line.split(":")[1].split(",")
        h = hashlib.sha256(bytes.fromhex(salt) + password.encode()).digest()
        for _ in range(int(iterations) - 1):
            h = hashlib.sha256(h).digest()
        assert h.hex() == digest
    finally:
        shutil.rmtree(server.dir, ignore_errors=True)


@pytest.mark.neo4j
@pytest.mark.slow
def test_a_stop_closes_bolt_connections_at_once() -> None:
    """A stop under way hangs no Bolt client: Neo4j's default waits out a 5 s Netty quiet
    period before it closes connections, during which a request on one gets no answer
    (issue 18: the API could not answer those 503 within 1 s)."""
    base = neo4j_test_settings()
    worktree = os.environ.get("GRAPHRAILS_TEST_INSTANCE")
    settings = neo4j_test_settings(
        instance=f"{worktree}-stop" if worktree else "stop", bolt_port=base.bolt_port + 4,
        http_port=base.http_port + 4, heap="512m", pagecache="64m",
    )  # fmt: skip
    if not settings.managed:
        pytest.skip("NEO4J_URI is set: no local server to stop")
    server = LocalServer(settings)
    server.start()
    try:
        with (
            GraphDatabase.driver(
                settings.uri, auth=(settings.neo4j_user, resolve_password(settings))
            ) as driver,  # fmt: skip
            driver.session(database=settings.neo4j_database) as session,
        ):
            tx = session.begin_transaction()  # a request under way when the stop comes
            tx.run("RETURN 1").consume()
            started = time.monotonic()
            server.stop()
            took = time.monotonic() - started
            with pytest.raises((ServiceUnavailable, SessionExpired)):
                tx.run("RETURN 1").consume()
    finally:
        server.stop()
    assert took < 4.0, f"the stop took {took:.1f} s"


@pytest.mark.neo4j
def test_one_plan_serves_every_size_of_a_list_parameter(
    driver: Driver, neo4j_settings: Settings
) -> None:
    """A list parameter's size does not pick the plan (PLAN_CACHE_SETTINGS): Neo4j's default
    plans a one-item list apart (``id = $ids[0]``), and keeps a plan per size bucket, so a
    statement is planned again for each (issue 18: seconds each on a Neo4j just started)."""
    if not neo4j_settings.managed:
        pytest.skip("NEO4J_URI is set: the server's settings are not ours")

    def seeks(ids: list[str]) -> list[str]:
        _, summary, _ = driver.execute_query(
            "EXPLAIN MATCH (p:Program) WHERE p.id IN $ids RETURN p.id",
            ids=ids,
            database_=neo4j_settings.neo4j_database,
        )
        plan = summary.plan
        assert plan is not None
        found: list[str] = []
        stack = [plan]
        while stack:
            op = stack.pop()
            found.append(str(op.get("args", {}).get("Details", "")))
            stack.extend(op.get("children", []))
        return [d for d in found if "$ids" in d]

    assert seeks(["p1"]) == seeks(["p1", "p2"]) == seeks([f"p{i}" for i in range(150)])
    assert any("IN $ids" in d for d in seeks(["p1"]))
