"""docker-compose.yml stays equivalent to the local set-up (no Docker engine needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from graph.server import PLAN_CACHE_SETTINGS, STOP_SETTINGS
from graph.settings import Settings

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_neo4j_is_the_official_526_community_image(compose: dict[str, Any]) -> None:
    neo4j = compose["services"]["neo4j"]
    assert neo4j["image"] == "neo4j:5.26-community"
    assert {"neo4j-data:/data", "neo4j-logs:/logs"} <= set(neo4j["volumes"])
    assert "127.0.0.1:7687:7687" in neo4j["ports"]


def test_healthcheck_waits_for_bolt_with_real_credentials(compose: dict[str, Any]) -> None:
    test = " ".join(compose["services"]["neo4j"]["healthcheck"]["test"])
    assert "cypher-shell -a bolt://localhost:7687" in test
    assert "RETURN 1" in test


def test_api_uses_the_same_variable_names_and_waits_for_healthy_neo4j(
    compose: dict[str, Any],
) -> None:
    api = compose["services"]["api"]
    names = set(api["environment"])
    assert {"NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"} <= names
    assert api["environment"]["NEO4J_URI"] == "bolt://neo4j:7687"
    assert api["depends_on"]["neo4j"]["condition"] == "service_healthy"
    unknown = names - _variables() - {"OPENBLAS_NUM_THREADS"}
    assert not unknown, f"not graphrails settings: {unknown}"


def test_memory_matches_the_local_server_defaults(compose: dict[str, Any]) -> None:
    env = compose["services"]["neo4j"]["environment"]
    defaults = Settings.model_fields
    assert env["NEO4J_server_memory_heap_max__size"] == defaults["heap"].default
    assert env["NEO4J_server_memory_pagecache_size"] == defaults["pagecache"].default


@pytest.mark.parametrize(
    "settings", [STOP_SETTINGS, PLAN_CACHE_SETTINGS], ids=["stop at once", "one plan"]
)
def test_neo4j_settings_match_the_local_servers(
    compose: dict[str, Any], settings: dict[str, str]
) -> None:
    env = compose["services"]["neo4j"]["environment"]
    # The image's naming: NEO4J_ + the setting with "_" doubled, then "." turned to "_".
    names = {"NEO4J_" + k.replace("_", "__").replace(".", "_"): v for k, v in settings.items()}
    assert {name: str(env.get(name)) for name in names} == names


@pytest.mark.skipif(
    subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0
    if shutil.which("docker")
    else True,
    reason="the docker compose plugin is not installed",
)
def test_docker_compose_config_accepts_it() -> None:
    env = dict(os.environ, NEO4J_PASSWORD="example-password")
    done = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def _variables() -> set[str]:
    return {str(info.validation_alias) for info in Settings.model_fields.values()}


def test_scheduler_runs_the_api_image_on_the_shared_models_volume(compose: dict[str, Any]) -> None:
    api, scheduler = compose["services"]["api"], compose["services"]["scheduler"]
    assert scheduler["image"] == api["image"] and scheduler["build"] == api["build"]
    assert scheduler["command"][:2] == ["graphrails", "schedule"]
    assert scheduler["volumes"] == api["volumes"]
    assert scheduler["environment"]["GRAPHRAILS_HOME"] == api["environment"]["GRAPHRAILS_HOME"]
    assert scheduler["depends_on"]["neo4j"]["condition"] == "service_healthy"
    names = set(scheduler["environment"])
    assert {"NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"} <= names
    assert not names - _variables(), f"not graphrails settings: {names - _variables()}"
    default = Settings.model_fields["retrain_cron"].default
    assert scheduler["environment"]["GRAPHRAILS_RETRAIN_CRON"] == (
        f"${{GRAPHRAILS_RETRAIN_CRON:-{default}}}"
    )


def test_the_api_image_holds_every_package_the_wheel_installs() -> None:
    # The image installs the project from what the Dockerfile copied: a package left out
    # (cli holds the `graphrails` entry point the image runs) breaks the install or the
    # command, and no test here builds the image.
    import tomllib

    root = COMPOSE.parent
    wheel = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    packages = set(wheel["targets"]["wheel"]["packages"]) | {"cypher"}
    lines = (root / "Dockerfile").read_text().splitlines()
    copied = {line.split()[1] for line in lines if line.startswith("COPY ")}
    assert packages <= copied, f"the Dockerfile does not copy {sorted(packages - copied)}"
