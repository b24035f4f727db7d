"""End to end in a real browser: headless Chromium (Debian's chromium + chromium-driver, driven
by Selenium) on the rails preview page and on Neo4j Browser, against the real API and Neo4j.

The browser is required: without it these tests fail with the command that installs it,
unless GRAPHRAILS_SKIP_BROWSER_TESTS=1 says to skip them. Screenshots go to
$GRAPHRAILS_TEST_ARTIFACTS (default: docs/screenshots/ci, ignored by git); the committed
ones in docs/screenshots come from `graphrails screenshots`.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import pytest
from neo4j import Driver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from cli.screenshots import (
    ScreenshotError,
    browser_error,
    chrome,
    find_chromium,
    frame_commands,
    get_json,
    graph_radii,
    neo4j_browser_graph,
    neo4j_browser_run,
    neo4j_browser_type,
    open_preview,
    open_why,
    running_api,
    style_diameters,
    wait_for,
)
from gnn.artifacts import load_version
from gnn.pipeline import publish, train_version
from gnn.train import TrainConfig
from graph.domain import CSA_LEVELS
from graph.server import API_URL
from graph.settings import Settings
from tests.loaders.neo4j_data import generated_and_loaded

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]

NOW = "2025-01-09T20:00:00Z"  # the generated EPG week starts 2025-01-06
OPT_OUT = "GRAPHRAILS_SKIP_BROWSER_TESTS"
ARTIFACTS = Path(
    os.environ.get("GRAPHRAILS_TEST_ARTIFACTS")
    or Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "ci"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    if os.environ.get(OPT_OUT) == "1":
        pytest.skip(f"{OPT_OUT}=1: browser tests skipped on request")
    try:
        find_chromium()
    except ScreenshotError as e:
        pytest.fail(f"{e} (or set {OPT_OUT}=1 to skip the browser tests)", pytrace=False)
    with chrome() as driver:
        yield driver


@pytest.fixture(scope="module")
def served(
    driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Settings]]:
    """The API (with a quickly trained model) serving a small data set; yields its URL and
    the most active user."""
    db = neo4j_settings.neo4j_database
    loaded = contextlib.contextmanager(generated_and_loaded)
    with loaded(driver, db, tmp_path_factory.mktemp("tv-browser"),
                users=150, programs=120, seed=41) as folder:  # fmt: skip
        models = tmp_path_factory.mktemp("models")
        config = TrainConfig(embedding_dim=16, epochs=6, patience=2, batch_size=2048,
                             num_negatives=64)  # fmt: skip
        outcome = train_version(driver, database=db, models_dir=models, train_config=config,
                                progress=False)  # fmt: skip
        publish(driver, load_version(outcome.path), database=db, progress=False)
        settings = neo4j_settings.model_copy(
            update={"models_path": models, "served_log": False, "demo_pages": True}
        )
        events = pd.read_csv(folder / "watch_events.csv", dtype=str)
        heavy = str(events.drop_duplicates(["user_id", "program_id"])["user_id"].mode()[0])
        try:
            with running_api(settings) as url:
                yield url, heavy, settings
        finally:
            driver.execute_query("MATCH (m:ModelVersion {id: $v}) DELETE m",
                                 v=outcome.path.name, database_=db)  # fmt: skip


def _save(browser: WebDriver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / name))


def test_preview_shows_explained_rails_and_a_why_graph(
    browser: WebDriver, served: tuple[str, str, Settings]
) -> None:
    url, user, settings = served
    sentences = open_preview(browser, url, user_id=user, now=NOW)
    rails = [r.get_attribute("data-rail") for r in browser.find_elements(By.CSS_SELECTOR, ".rail")]
    assert rails[0] == "home"
    assert {"popular_in_bundle", "best_of_bundle", "top_replay"} <= set(rails)
    assert "because_you_watched" in rails
    assert browser.find_element(By.CSS_SELECTOR, ".rail h2").text == "For you"  # personalised
    cards = browser.find_elements(By.CSS_SELECTOR, ".card")
    assert len(sentences) == len(cards) >= 10 and all(s.strip() for s in sentences)
    badges = [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".card .csa")]
    assert len(badges) == len(cards) and set(badges) <= set(CSA_LEVELS)
    _save(browser, "preview.png")

    nodes = open_why(browser)
    assert nodes >= 3  # the user, the program and what links them
    assert browser.find_element(By.ID, "why-sentence").text == sentences[0].splitlines()[0]
    link = browser.find_element(By.ID, "why-browser").get_attribute("href") or ""
    assert link.startswith(settings.browser_url + "?cmd=edit&arg=")
    _save(browser, "why.png")
    browser.find_element(By.ID, "why-close").click()

    # "similar" puts a rail for the clicked program on top.
    first = browser.find_element(By.CSS_SELECTOR, ".card").get_attribute("data-program")
    browser.find_element(By.CSS_SELECTOR, ".similar-button").click()
    similar = '.rail[data-rail="similar"]'
    top = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, similar),
                   what="the similar rail")  # fmt: skip
    assert top[0] == browser.find_element(By.CSS_SELECTOR, ".rail")
    assert top[0].find_element(By.TAG_NAME, "h2").text.startswith("Similar to ")
    assert top[0].find_elements(By.CSS_SELECTOR, ".card .explanation")
    assert top[0].get_attribute("data-anchor") == first


def test_an_unknown_user_gets_explained_default_rails(
    browser: WebDriver, served: tuple[str, str, Settings]
) -> None:
    url, _, _ = served
    sentences = open_preview(browser, url, user_id=f"nobody-{uuid.uuid4().hex[:8]}", now=NOW)
    assert sentences and all(s.strip() for s in sentences)
    assert browser.find_element(By.CSS_SELECTOR, ".rail h2").text == "Popular in your bundle"


def test_neo4j_browser_applies_the_style_and_draws_a_neighbourhood(
    browser: WebDriver, served: tuple[str, str, Settings], driver: Driver
) -> None:
    url, user, settings = served
    if not settings.managed:
        pytest.skip("NEO4J_URI is set: the external server's Browser is not configured here")
    # The local server's configuration applies the style on connect, from the default API.
    config = {r["name"]: r["value"] for r in driver.execute_query(
        "CALL dbms.clientConfig() YIELD name, value RETURN name, value")[0]}  # fmt: skip
    assert config["browser.post_connect_cmd"] == f"style {API_URL}/browser/graphrails.grass"
    assert "127.0.0.1" in config["browser.remote_content_hostname_whitelist"].split(",")

    nodes = neo4j_browser_graph(browser, settings, api_url=url, user_id=user, now=NOW)
    assert nodes >= 5
    # The Browser's own palette has the style's colours, not its sizes: without the style
    # no node is 40px (Genre) or 55px (Program) wide.
    sizes = style_diameters()
    assert (sizes["Genre"], sizes["Program"]) == (40, 55)
    assert {"20", "27.5"} <= graph_radii(browser)
    _save(browser, "neo4j-browser.png")

    # The Cypher /v1/explain returns, pasted into the editor, draws the paths.
    home = get_json(f"{url}/v1/users/{user}/rails/home?{urlencode({'now': NOW, 'limit': 1})}")
    program = home["items"][0]["program_id"]
    found = get_json(f"{url}/v1/explain?{urlencode({'user_id': user, 'program_id': program})}")
    before = len(frame_commands(browser))
    neo4j_browser_type(browser, found["cypher"])
    drawn = wait_for(
        browser,
        lambda d: len(frame_commands(d)) > before
        and (d.find_element(By.CSS_SELECTOR, "[data-testid=frame]")
             .find_elements(By.CSS_SELECTOR, "svg g.node") or browser_error(d)),
        what="the explain paths drawn in Neo4j Browser",
    )  # fmt: skip
    # The explain Cypher starts from the program, so that it also explains a visitor.
    command = frame_commands(browser)[0]
    assert command.startswith("MATCH (p:Program {id: '")
    assert f"(u:User {{id: '{user}'}})" in command
    assert len(drawn) >= 2
    _save(browser, "neo4j-browser-explain.png")

    # The guide opens in the Browser's sidebar with a slide per saved query.
    neo4j_browser_run(browser, settings, f":guide {url}/browser/guide.html", new_frame=False)
    wait_for(browser, lambda d: "the graph behind the rails" in d.page_source,
             what="the graphrails guide")  # fmt: skip
    _save(browser, "neo4j-browser-guide.png")
