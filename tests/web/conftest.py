"""The web app in a real browser: Debian's chromium driven by Playwright, against a live node with the tiny model.

Playwright never downloads a browser here: it launches /usr/bin/chromium (tests/run.sh installs it) headless,
with a fresh profile per test, at phone size. Screenshots of the main screens go under each test's tmp dir; with VITASCOPE_SCREENSHOTS=1 they
replace the committed ones in docs/screenshots/ (docs/web.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.generation import tiny_models  # noqa: F401  (a session fixture)

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def web_node(nodes, tiny_models):  # noqa: F811
    """A node with a worker on the tiny model, so the browser can generate and watch real videos."""
    node = nodes("web")
    node.worker = node.start_worker(models=tiny_models)
    yield node
    node.worker.stop()


@pytest.fixture(scope="session")
def playwright_driver():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: tests/run.sh installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright_driver, tmp_path):
    """Opens pages on a fresh profile; `browser(token=...)` starts signed in (the app keeps its token in localStorage);
    `args` adds Chromium flags (a fake camera)."""
    contexts = []

    def open_page(token: str | None = None, locale: str = "en-GB", args: tuple[str, ...] = ()):
        context = playwright_driver.chromium.launch_persistent_context(
            str(tmp_path / f"profile-{len(contexts)}"), executable_path=str(CHROMIUM), headless=True, args=[*ARGS, *args],
            viewport=PHONE, has_touch=True, is_mobile=True, locale=locale)
        contexts.append(context)
        if token:
            context.add_init_script(f"localStorage.setItem('vitascope.token', {token!r})")
        page = context.pages[0] if context.pages else context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("response", lambda response: response.status >= 400 and page.errors.append(
            f"{response.status} {response.url}"))
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(tmp_path):
    """`screenshot(page, name)`: a phone-size picture of the page, kept in docs/screenshots/ only when
    VITASCOPE_SCREENSHOTS=1 asks to refresh them (so an ordinary run leaves the checkout clean)."""
    directory = SCREENSHOTS if os.environ.get("VITASCOPE_SCREENSHOTS") == "1" else tmp_path / "screenshots"

    def take(page, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(directory / f"{name}.png"))

    return take
