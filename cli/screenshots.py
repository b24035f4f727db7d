"""Screenshots of the rails preview page and of Neo4j Browser, from headless Chromium.

``graphrails screenshots --out docs/screenshots`` serves the API (or uses a
running one, ``--api-url``) against the configured Neo4j, usually the demo's,
and captures:

* ``preview.png`` -- ``/demo`` with a user's rails;
* ``why.png`` -- the "why?" view of the first item, its explanation drawn as a graph;
* ``neo4j-browser.png`` -- Neo4j Browser, logged in, showing the user's neighbourhood
  (``cypher/explore/user_neighbourhood``) drawn with the graphrails style.

Chromium and its driver come from the system (Debian: ``apt-get install chromium
chromium-driver``); nothing is downloaded. Selenium is imported only here, and
only when a browser is started. The browser end-to-end tests use the same helpers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

from graph.errors import CommandError
from graph.server import API_URL, free_ports, resolve_password
from graph.settings import Settings

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

WIDTH, HEIGHT = 1280, 800
"""Viewport of every screenshot (CSS pixels, scale 1: small PNGs)."""
CHROMIUM = ("chromium", "chromium-browser")
CHROMEDRIVER = "chromedriver"
INSTALL_HINT = "install them with: apt-get install chromium chromium-driver"
T = TypeVar("T")


class ScreenshotError(RuntimeError):
    """A page did not show what it should; the message says what was missing."""


# ------------------------------------------------------------------ browser
def find_chromium() -> tuple[str, str]:
    """Paths of the Chromium binary and of chromedriver; ``ScreenshotError`` if either lacks."""
    binary = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    driver = shutil.which(CHROMEDRIVER)
    if binary is None or driver is None:
        missing = " and ".join(
            name for name, path in (("chromium", binary), ("chromedriver", driver)) if not path
        )
        raise ScreenshotError(f"{missing} not found on PATH: {INSTALL_HINT}")
    return binary, driver


@contextlib.contextmanager
def chrome(*, width: int = WIDTH, height: int = HEIGHT) -> Iterator[WebDriver]:
    """A headless Chromium driven by Selenium, with a ``width`` x ``height`` viewport."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        # The window size includes browser chrome; screenshots want the page at exactly this size.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        yield driver
    finally:
        driver.quit()


def wait_for(
    driver: WebDriver, condition: Callable[[WebDriver], T], *, what: str, timeout: float = 60
) -> T:
    """``condition``'s first truthy value; ``ScreenshotError`` naming ``what`` after ``timeout``.

    An element the page re-renders while ``condition`` reads it (stale) means "not yet":
    the condition is asked again, like any falsy answer.
    """
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        wait = WebDriverWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException])
        return wait.until(condition)
    except TimeoutException as e:
        raise ScreenshotError(
            f"{what} did not appear within {timeout:.0f} s at {driver.current_url}"
        ) from e


# ------------------------------------------------------------------ the API
def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@contextlib.contextmanager
def running_api(settings: Settings, *, port: int | None = None) -> Iterator[str]:
    """Serve the API for ``settings`` from a thread of this process; yield its base URL."""
    import uvicorn

    from api.main import create_app

    port = port or free_ports(1)[0]
    app = create_app(settings.model_copy(update={"demo_pages": True}))  # what it shoots
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="graphrails-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ScreenshotError(f"the API did not start on 127.0.0.1:{port}")
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


# ------------------------------------------------------------------ the preview page
def open_preview(
    driver: WebDriver, api_url: str, *, user_id: str, now: str | None = None, timeout: float = 60
) -> list[str]:
    """Open ``/demo`` for ``user_id``; return the explanation sentences once rails are shown."""
    from selenium.webdriver.common.by import By

    query = {"user": user_id, **({"now": now} if now else {})}
    driver.get(f"{api_url}/demo?{urlencode(query)}")
    wait_for(
        driver,
        lambda d: d.execute_script("return document.body.dataset.loaded") == user_id,
        what=f"the rails of '{user_id}'",
        timeout=timeout,
    )
    message = driver.find_element(By.ID, "message")
    if message.is_displayed():
        raise ScreenshotError(f"the preview page reported: {message.text}")
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".card .explanation")]


def open_why(driver: WebDriver, *, index: int = 0, timeout: float = 60) -> int:
    """Click the ``index``-th "why?" button; return the number of nodes drawn."""
    from selenium.webdriver.common.by import By

    buttons = driver.find_elements(By.CSS_SELECTOR, ".why-button")
    if len(buttons) <= index:
        raise ScreenshotError(f"no 'why?' button number {index} ({len(buttons)} on the page)")
    buttons[index].click()
    nodes: list[Any] = wait_for(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#why-graph svg g.node") or _why_failed(d),
        what="the explanation graph",
        timeout=timeout,
    )
    return len(nodes)


def _why_failed(driver: WebDriver) -> list[Any]:
    from selenium.webdriver.common.by import By

    failed = driver.find_elements(By.CSS_SELECTOR, "#why-status .no, #why-graph p")
    if failed:
        raise ScreenshotError(f"the 'why?' view shows no graph: {failed[0].text}")
    return []


# ------------------------------------------------------------------ Neo4j Browser
def browser_edit_url(settings: Settings, statement: str) -> str:
    """Neo4j Browser opened with ``statement`` in its editor (``?cmd=edit&arg=``)."""
    return f"{settings.browser_url}?cmd=edit&arg={quote(statement, safe='')}"


def neo4j_browser_run(
    driver: WebDriver,
    settings: Settings,
    statement: str,
    *,
    new_frame: bool = True,
    timeout: float = 60,
) -> None:
    """Open Neo4j Browser with ``statement`` in its editor, log in if asked, and run it
    (then wait for its frame, unless ``new_frame`` is false: ``:guide`` opens the sidebar).

    The statement is put on one line: the editor shows the prompt that says it is
    connected (``neo4j$``) only on a single-line statement.
    """
    from selenium.webdriver.common.by import By

    statement = " ".join(line.strip() for line in statement.splitlines() if line.strip())
    driver.get(browser_edit_url(settings, statement))
    prompt = f"{settings.neo4j_database}$"  # the editor's prompt once connected

    def state(d: WebDriver) -> str | None:
        editor = d.find_elements(By.CSS_SELECTOR, "[data-testid=activeEditor]")
        if editor and editor[0].text.startswith(prompt):
            return "connected"
        password = d.find_elements(By.CSS_SELECTOR, "[data-testid=password]")
        return "login" if password and password[0].is_displayed() else None

    if wait_for(driver, state, what="Neo4j Browser", timeout=timeout) == "login":
        user = driver.find_element(By.CSS_SELECTOR, "[data-testid=username]")
        user.clear()
        user.send_keys(settings.neo4j_user)
        driver.find_element(By.CSS_SELECTOR, "[data-testid=password]").send_keys(
            resolve_password(settings)
        )
        driver.find_element(By.CSS_SELECTOR, "[data-testid=connect]").click()
        wait_for(
            driver,
            lambda d: state(d) == "connected",
            what="the Neo4j Browser connection",
            timeout=timeout,
        )
    # The Browser reads the server's settings (its remote-content allowlist among them)
    # just after connecting, then runs the post-connect command: wait for that frame, or
    # a style fetched too early is refused. Servers without that command just wait here.
    with contextlib.suppress(ScreenshotError):
        wait_for(
            driver,
            lambda d: any(c.startswith(":style") for c in frame_commands(d)),
            what="the post-connect frame",
            timeout=10,
        )
    before = len(frame_commands(driver))
    driver.find_element(By.CSS_SELECTOR, "[data-testid=editor-Run]").click()
    if not new_frame:
        return
    wait_for(
        driver,
        lambda d: len(frame_commands(d)) > before,
        what=f"a result frame for {statement[:40]!r}",
        timeout=timeout,
    )


def frame_commands(driver: WebDriver) -> list[str]:
    """The commands of the result frames in Neo4j Browser, the most recent first."""
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[data-testid=frameCommand]")]


def neo4j_browser_graph(
    driver: WebDriver,
    settings: Settings,
    *,
    api_url: str,
    user_id: str,
    now: str | None = None,
    timeout: float = 60,
) -> int:
    """Draw ``user_id``'s neighbourhood at ``now`` (ISO 8601; default: the clock) in Neo4j
    Browser, then apply the graphrails style to it; return the number of nodes drawn once
    the style's sizes show.

    The style is run in the same page, after the query: every page load reconnects and runs
    the server's post-connect ``:style`` again, which must not land after ours.
    """
    from selenium.webdriver.common.by import By

    from api.browser_guide import with_literals
    from graph.queries import query

    at = now or datetime.now(UTC).isoformat()
    statement = with_literals(query("explore/user_neighbourhood"), {"user_id": user_id, "now": at})
    neo4j_browser_run(driver, settings, statement, timeout=timeout)
    nodes: list[Any] = wait_for(
        driver,
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "[data-testid=frame] svg g.node") or browser_error(d)
        ),
        what="the neighbourhood graph in Neo4j Browser",
        timeout=timeout,
    )
    neo4j_browser_type(driver, f":style {api_url}/browser/graphrails.grass", timeout=timeout)
    program = str(style_diameters()["Program"] / 2).removesuffix(".0")
    wait_for(
        driver,
        lambda d: program in graph_radii(d) or browser_error(d),
        what="the graphrails style's node sizes in Neo4j Browser",
        timeout=timeout,
    )
    time.sleep(3)  # the force layout settles
    return len(nodes)


def neo4j_browser_type(driver: WebDriver, statement: str, *, timeout: float = 60) -> None:
    """Type ``statement`` into the editor of the Neo4j Browser page already open (on one
    line: Enter would run it), run it and wait for its frame."""
    from selenium.webdriver.common.by import By

    statement = " ".join(line.strip() for line in statement.splitlines() if line.strip())
    before = len(frame_commands(driver))
    driver.find_element(By.CSS_SELECTOR, "[data-testid=activeEditor]").click()
    driver.switch_to.active_element.send_keys(statement)
    driver.find_element(By.CSS_SELECTOR, "[data-testid=editor-Run]").click()
    wait_for(
        driver,
        lambda d: len(frame_commands(d)) > before,
        what=f"a result frame for {statement[:40]!r}",
        timeout=timeout,
    )


def style_diameters() -> dict[str, float]:
    """Node diameter (px) per label in the graphrails style."""
    from api.browser_guide import style_path

    text = style_path().read_text(encoding="utf-8")
    blocks = re.findall(r"node\.(\w+)\s*\{([^}]*)\}", text)
    return {
        label: float(m.group(1))
        for label, body in blocks
        if (m := re.search(r"diameter:\s*([\d.]+)px", body))
    }


def graph_radii(driver: WebDriver) -> set[str]:
    """The radii of the node circles drawn in Neo4j Browser's result frames."""
    from selenium.webdriver.common.by import By

    circles = driver.find_elements(By.CSS_SELECTOR, "[data-testid=frame] svg g.node circle")
    return {str(c.get_attribute("r")) for c in circles}


def browser_error(driver: WebDriver) -> list[Any]:
    from selenium.webdriver.common.by import By

    for frame in driver.find_elements(By.CSS_SELECTOR, "[data-testid=frame]")[:1]:
        if "ERROR" in frame.text:
            raise ScreenshotError(f"Neo4j Browser reported: {frame.text[:500]}")
    return []


# ------------------------------------------------------------------ the command
def take(
    settings: Settings,
    out: Path,
    *,
    api_url: str,
    user_id: str | None = None,
    now: str | None = None,
) -> list[Path]:
    """Capture the three screenshots into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    if user_id is None:
        users = get_json(f"{api_url}/demo/users" + (f"?{urlencode({'now': now})}" if now else ""))
        if not users["users"]:
            raise ScreenshotError("the graph has no user with a watch: load data first")
        user_id = str(users["users"][0]["user_id"])
    shots = []
    with chrome() as driver:
        sentences = open_preview(driver, api_url, user_id=user_id, now=now)
        if not any(sentences):
            raise ScreenshotError(f"no explanation sentence on the rails of '{user_id}'")
        shots.append(_save(driver, out / "preview.png"))
        open_why(driver)
        time.sleep(0.5)
        shots.append(_save(driver, out / "why.png"))
        neo4j_browser_graph(driver, settings, api_url=api_url, user_id=user_id, now=now)
        shots.append(_save(driver, out / "neo4j-browser.png"))
    return shots


def _save(driver: WebDriver, path: Path) -> Path:
    if not driver.save_screenshot(str(path)):
        raise ScreenshotError(f"could not write {path}")
    return path


def cmd_screenshots(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return _screenshots(args, settings)
    except ScreenshotError as e:
        raise CommandError(str(e)) from e


def _screenshots(args: argparse.Namespace, settings: Settings) -> int:
    out = Path(args.out)
    if args.api_url:
        shots = take(settings, out, api_url=args.api_url.rstrip("/"), user_id=args.user,
                     now=args.now)  # fmt: skip
    else:
        # The port the Browser's post-connect style points at, when it is free.
        default_port = int(API_URL.rsplit(":", 1)[1])
        port = default_port if port_is_free(default_port) else None
        with running_api(settings, port=port) as api_url:
            shots = take(settings, out, api_url=api_url, user_id=args.user, now=args.now)
    for path in shots:
        print(f"  {path}  ({path.stat().st_size // 1024} KiB)")
    return 0


def add_command(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``graphrails screenshots`` to the CLI."""
    p = sub.add_parser(
        "screenshots",
        help="capture the rails preview page and Neo4j Browser (headless Chromium)",
        description="Screenshots of /demo, its 'why?' view and Neo4j Browser with the style.",
    )
    p.add_argument("--out", default="docs/screenshots", help="(default: docs/screenshots)")
    p.add_argument("--api-url", help="use this running API (default: serve one from here)")
    p.add_argument("--user", help="user to show (default: the most active one)")
    p.add_argument("--now", help="compute the rails as of this time (ISO 8601)")
    p.set_defaults(handler=cmd_screenshots)
