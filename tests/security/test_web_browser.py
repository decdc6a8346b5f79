"""A real cross-site attack in headless Chromium: a page on another site (``localhost``,
while kg listens on ``127.0.0.1``) fetches kg's console and JSON API, embeds them, posts to
them, and finally navigates the tab to a console query. Chromium's own fetch metadata must
make kg refuse all of it before any query or search runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.web.conftest import screenshot, serving

pytestmark = pytest.mark.browser

ATTACK = """<!doctype html><title>elsewhere</title><body><script>
const kg = "KG";
const query = encodeURIComponent("RETURN 1 AS pwned");
async function attack() {
  const shots = [
    fetch(kg + "/console?format=json&query=" + query, {mode: "no-cors", credentials: "include"}),
    fetch(kg + "/console?query=" + query, {mode: "no-cors", credentials: "include"}),
    fetch(kg + "/api/search?q=retry", {mode: "no-cors", credentials: "include"}),
    fetch(kg + "/api/cypher", {method: "POST", mode: "no-cors", credentials: "include",
                               headers: {"Content-Type": "text/plain"}, body: '{"query": "RETURN 1"}'}),
    new Promise((done) => { const img = new Image(); img.onload = img.onerror = done;
                            img.src = kg + "/console?query=" + query; }),
  ];
  await Promise.allSettled(shots);
  document.title = "fired";
}
attack();
</script></body>"""


@pytest.fixture
def elsewhere(live_server: str) -> Iterator[str]:
    """Another site: a tiny server on localhost (kg is on 127.0.0.1) that serves the attack page."""
    from werkzeug.wrappers import Response

    page = ATTACK.replace('"KG"', f'"{live_server}"')
    with serving(lambda env, start: Response(page, mimetype="text/html")(env, start), "localhost") as url:
        yield url + "/"


def _counted(action: Any, name: str, ran: list[str]) -> Any:
    def counted(*args: Any, **kwargs: Any) -> Any:
        ran.append(name)
        return action(*args, **kwargs)

    return counted


def _in_a_thread(work: Any) -> None:
    """Run ``work`` in a thread of its own and re-raise what it raised there.

    Playwright's sync API refuses to start inside a running event loop, and the session
    browser of tests/web (when both folders run) keeps one running in this thread.
    """
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the test's thread, which raises it
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the browser did not finish within 120 s"
    if failures:
        raise failures[0]


def test_another_site_cannot_make_kg_run_a_query(live_server: str, elsewhere: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
    from web import actions

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    ran: list[str] = []
    for name in ("run_cypher", "search_from_args"):
        monkeypatch.setattr(actions, name, _counted(getattr(actions, name), name, ran))

    def attack() -> None:
        with playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                _attack(browser.new_page(), live_server, elsewhere, ran)
            finally:
                browser.close()

    _in_a_thread(attack)


def _attack(tab: Any, live_server: str, elsewhere: str, ran: list[str]) -> None:
    tab.goto(elsewhere)
    tab.wait_for_function("document.title === 'fired'", timeout=10_000)
    assert ran == []
    link = f"{live_server}/console?query={quote('RETURN 1 AS pwned')}"
    tab.evaluate(f"location.href = {link!r}")  # a top-level navigation started by the other site
    tab.wait_for_selector(".console-error", timeout=10_000)
    assert ran == []
    assert tab.locator(".console-error").get_attribute("data-kind") == "CrossSiteRequest"
    assert "was not run" in tab.inner_text(".console-error")
    assert tab.input_value("#query") == "RETURN 1 AS pwned" and tab.locator("#result-table").count() == 0
    screenshot(tab, "console-cross-site-link")
    tab.click("#run")  # the user, on kg's own page, decides to run it
    tab.wait_for_selector("#result-table", timeout=10_000)
    assert ran == ["run_cypher"]
