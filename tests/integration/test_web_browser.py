"""``demo --web`` in Debian's Chromium: the page, then the demo from Welcome to Done by keyboard.

One server and one headless Chromium for the module (each costs seconds).
Chromium runs with the flags that keep it from calling any host of its own
(no background networking, component updates, sync or QUIC; no host name
resolves) and a fresh profile; selenium drives it through Debian's chromedriver, named explicitly
so that Selenium Manager never runs (it would look for drivers online).

The test reads the screen the way the browser shows it: the xterm.js
terminal's buffer, reached through a hook added before the page's scripts run
(``TERMINAL_HOOK``: textual.js keeps its terminal in a closure). It presses
the keys a person would: Enter on each step, ``y`` when a dialog asks, and
stops when the Done step's title shows, so a step added to the flow needs no
change here. A screenshot per screen goes to a temporary directory, or to
``$CODESTREAM_BASTION_WEB_SCREENSHOTS`` (``screenshots/web`` for the README).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.request import urlopen

import pytest

from tests.nginx_harness import require_nginx
from tests.web_harness import WebDemo, processes_under, require_chromium, wait_until

pytestmark = pytest.mark.nginx

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Belt and braces: every host name Chromium would resolve fails, so nothing
    # of its own (or of the page's) can reach beyond the IP literal we open.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-default-browser-check",
    "--window-size=1100,760",
)
SCREENSHOTS_ENV = "CODESTREAM_BASTION_WEB_SCREENSHOTS"

# textual.js keeps its xterm.js Terminal in a closure, as `this.terminal` of
# its session object; a setter on Object.prototype catches that assignment.
TERMINAL_HOOK = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {
      value, writable: true, configurable: true, enumerable: true,
    });
    if (value && value.buffer) window.__terminals.push(value);
  },
});
"""
READ_SCREEN = """
const terminal = window.__terminals[window.__terminals.length - 1];
if (!terminal) return null;
const buffer = terminal.buffer.active;
const lines = [];
for (let row = 0; row < terminal.rows; row++) {
  const line = buffer.getLine(buffer.viewportY + row);
  lines.push(line ? line.translateToString(true) : "");
}
return lines;
"""
HEADER = re.compile(r"([A-Z][^—]*?) — step (\d+) of (\d+)")
"""The title bar: ``<step title> — step N of M (demo)``."""
WALK_TIMEOUT = 300.0
SETTLE_TIMEOUT = 30.0
SETTLED_AFTER = 1.5
"""Seconds without a change in the text: a running check shows its seconds ticking."""
MAX_PRESSES = 60


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDemo]:
    """The server; when the module is done, it is stopped and must leave nothing running."""
    require_nginx()
    require_chromium()
    base = tmp_path_factory.mktemp("web-demo")
    with WebDemo.start(base) as server:
        root = server.root
        yield server
    output = "".join(server.output)
    assert server.process.returncode == 0, output
    assert processes_under(base) == set(), output
    assert not root.exists(), output


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium with a fresh profile, and the terminal hook in every page."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TERMINAL_HOOK})
        yield driver
    finally:
        driver.quit()


@dataclass
class LoadedPage:
    """The demo page as loaded once: what the browser fetched, and the first screen."""

    url: str
    requests: list[str]
    first_screen: list[str]


@pytest.fixture(scope="module")
def page(web_server: WebDemo, browser: Any) -> LoadedPage:
    """The page loaded and the wizard's first screen painted."""
    browser.get(web_server.url)
    screen: list[str] = []

    def painted() -> bool:
        nonlocal screen
        screen = browser.execute_script(READ_SCREEN) or []
        return any("Which messaging providers?" in line for line in screen)

    wait_until(painted, 90, "the wizard's Welcome screen in the browser")
    requests = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            params = message["params"]
            requests.append(params["request"]["url"] if "request" in params else params["url"])
    return LoadedPage(web_server.url, requests, screen)


def hosts_named(text: str) -> set[str]:
    """Every ``host[:port]`` an http(s) or ws(s) URL in ``text`` names."""
    return set(
        re.findall(
            r"\b(?:https?|wss?)://([A-Za-z0-9.\-]+(?::\d+)?|\[[0-9a-fA-F:]+\](?::\d+)?)", text
        )
    )


def test_the_page_loads_nothing_from_another_host(page: LoadedPage) -> None:
    server = urlsplit(page.url).netloc
    fetched = [
        url for url in page.requests if urlsplit(url).scheme in ("http", "https", "ws", "wss")
    ]
    assert {urlsplit(url).netloc for url in fetched} == {server}, fetched
    paths = {urlsplit(url).path for url in fetched}
    # Not vacuous: the terminal's script, its stylesheet, the font and the websocket came.
    assert {"/static/js/textual.js", "/static/css/xterm.css", "/ws"} <= paths, paths
    assert any(path.startswith("/static/fonts/RobotoMono") for path in paths), paths

    # And nothing served names another host, not even in a line never reached.
    html = urlopen(page.url, timeout=10).read().decode()  # noqa: S310 - our loopback server
    linked = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(linked) >= 3, linked
    for link in linked:
        body = urlopen(urljoin(page.url, link), timeout=10).read()  # noqa: S310
        if link.endswith((".css", ".js")):
            # Comments (licence headers) are never fetched.
            text = re.sub(r"/\*.*?\*/", "", body.decode(errors="replace"), flags=re.S)
            assert hosts_named(text) <= {server}, (link, hosts_named(text))
    assert hosts_named(html) <= {server}, hosts_named(html)


@dataclass
class Walk:
    """The walk's record: each screen seen, its screenshot, the keys pressed."""

    browser: Any
    out: Path
    screens: list[tuple[str, int, int, bool]] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    presses: int = 0

    def read(self) -> list[str]:
        lines: list[str] = self.browser.execute_script(READ_SCREEN) or []
        return lines

    def settle(self) -> list[str]:
        """The screen once its text stays the same for a while (checks done), bounded."""
        last, since = self.read(), time.monotonic()
        end = since + SETTLE_TIMEOUT
        while time.monotonic() < end:
            time.sleep(0.25)
            now = self.read()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= SETTLED_AFTER:
                break
        self.texts.append("\n".join(last))
        return last

    def shoot(self, name: str) -> None:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
        path = self.out / f"{len(self.shots) + 1:02d}-{slug}.png"
        self.browser.save_screenshot(str(path))
        self.shots.append(path)

    def press(self, key: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        assert self.presses < MAX_PRESSES, f"still not at Done after {self.presses} keys"
        self.browser.execute_script("document.querySelector('.xterm-helper-textarea').focus()")
        ActionChains(self.browser).send_keys(key).perform()
        self.presses += 1


def where(lines: list[str]) -> tuple[str, int, int, bool] | None:
    """The step shown (title, number, count) and whether a yes/no dialog asks."""
    for line in lines[:2]:
        match = HEADER.search(line)
        if match:
            footer = next((line for line in reversed(lines) if line.strip()), "")
            asks = re.search(r"\by Yes\b", footer) is not None
            return match.group(1).strip(), int(match.group(2)), int(match.group(3)), asks
    return None


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    chosen = os.environ.get(SCREENSHOTS_ENV)
    out = Path(chosen) if chosen else tmp_path / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    return out


def test_walk_the_demo_from_welcome_to_done_with_the_keyboard(
    page: LoadedPage, browser: Any, screenshot_dir: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    walk = Walk(browser, screenshot_dir)
    deadline = time.monotonic() + WALK_TIMEOUT
    state = where(page.first_screen)
    assert state is not None, page.first_screen
    assert state[1] == 1, state
    assert state[0].startswith("Welcome"), state
    walk.screens.append(state)
    walk.settle()
    walk.shoot(state[0].split(" to ")[0])
    while state[0] != "Done":
        assert time.monotonic() < deadline, walk.screens
        walk.press("y" if state[3] else Keys.ENTER)
        before = state
        changed_by = time.monotonic() + 20
        while state == before and time.monotonic() < changed_by:
            time.sleep(0.2)
            state = where(walk.read()) or before
        if state != before:
            walk.screens.append(state)
            state = where(walk.settle()) or state
            walk.shoot(state[0] + ("-confirm" if state[3] else ""))
    _title, number, count, _ = state
    assert number == count, walk.screens
    # Every step was shown, in order (the demo has nginx: none is skipped).
    numbers = [screen[1] for screen in walk.screens]
    assert numbers == sorted(numbers), walk.screens
    assert set(numbers) == set(range(1, count + 1)), walk.screens
    assert any(screen[3] for screen in walk.screens), "the install was never confirmed"
    # The end-to-end proof ran in the browser's session: real nginx, the fake API behind it.
    proof = [text for text in walk.texts if "reaches the CodeStream API" in text]
    assert proof, walk.texts
    assert "FAIL" not in proof[-1], proof[-1]

    # Enter on Done finishes: the session ends, and the page says so.
    walk.press(Keys.ENTER)
    wait_until(
        lambda: browser.execute_script("return document.body.classList.contains('-closed')"),
        60,
        "the page to say the session ended",
    )
    walk.shoot("session-ended")
    assert all(shot.stat().st_size > 10_000 for shot in walk.shots), walk.shots
