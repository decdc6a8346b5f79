"""End to end in headless Chromium (Playwright driving /usr/bin/chromium) against a real server.

Every page fails its test on a console error, so a CSP violation (an inline script or
style that slipped in) fails here. Screenshots land in test-output/screenshots/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.waiting import wait_for
from tests.web.conftest import screenshot
from web.http import node_url

pytestmark = pytest.mark.browser

HOME = "note:vault/Home.md"
RETRY = "def:code/resilience.py::retry"
JITTER = "heading:vault/Retry and Backoff.md#Retry and Backoff#Jitter"


def _graph_nodes(page: Any, selector: str = "#graph", more_than: int = 1, equal: int | None = None) -> int:
    """Wait until the graph in ``selector`` has drawn (its data-nodes count); return the count.

    Polled from Python: the CSP (no 'unsafe-eval') blocks Playwright's wait_for_function.
    """
    def drawn() -> int | None:
        raw = page.get_attribute(selector, "data-nodes")
        count = int(raw) if raw else 0
        ok = count == equal if equal is not None else count > more_than
        return count if ok else None

    count = wait_for(drawn, timeout=10)
    assert count is not None, f"{selector} was not drawn"
    return count


def test_search_as_you_type_keyboard_and_feedback(page: Any, app: Any) -> None:
    page.goto("/")
    page.fill("#q", "jitter")  # no Enter: results come as you type
    page.wait_for_selector("li.result")
    assert "/?q=jitter" in page.url
    assert page.locator("li.result mark").count() > 0
    screenshot(page, "search")
    ids = page.eval_on_selector_all("li.result", "els => els.map(e => e.dataset.id)")
    assert JITTER in ids
    for _ in range(ids.index(JITTER) + 1):
        page.keyboard.press("ArrowDown")
    assert page.locator("li.result.selected").get_attribute("data-id") == JITTER
    page.keyboard.press("Enter")
    page.wait_for_url("**/node/heading:**")
    assert page.locator("h1").inner_text() == "Jitter"
    assert "from=" not in page.url  # the open is recorded once, not again on reload
    log = app.extensions["kg"].feedback
    judgement = wait_for(lambda: next(iter(log.judgements()), None))
    assert judgement.query == "jitter" and judgement.opened == JITTER
    assert judgement.skipped == ids[:ids.index(JITTER)]
    assert wait_for(lambda: page.get_attribute("#node", "data-open-id"))
    page.goto("/stats")  # leaving the page sends the dwell time
    dwell = wait_for(lambda: next(iter(log.judgements())).dwell_ms)
    assert dwell is not None and dwell >= 0
    assert page.errors == []


def test_enter_opens_the_top_result_and_filters_narrow_it(page: Any) -> None:
    page.goto("/")
    page.fill("#q", "delay backoff")
    page.wait_for_selector("li.result")
    page.fill("#f-path", "resilience.py")
    page.check("#f-tests")
    page.wait_for_function("() => /path=resilience.py/.test(location.search)")
    page.wait_for_selector("li.result")
    paths = page.eval_on_selector_all("li.result .path", "els => els.map(e => e.textContent)")
    assert paths and all("code/resilience.py" in p for p in paths)
    assert page.locator("li.result a.open-out >> text=open in editor").count() == len(paths)
    top = page.locator("li.result").first.get_attribute("data-id")
    page.focus("#q")
    page.keyboard.press("Enter")  # nothing selected: the top result opens
    page.wait_for_url("**/node/**")
    assert page.locator("#node").get_attribute("data-node-id") == top
    assert page.errors == []


def test_open_a_result_by_click_and_follow_a_backlink(page: Any) -> None:
    page.goto("/?q=retry+backoff")
    page.wait_for_selector("li.result")
    page.click("li.result a.result-title >> text=Jitter")
    page.wait_for_url("**/node/heading:**")
    page.click("section.rel-backlinks a >> text=Home")  # Home links to this heading
    page.wait_for_url("**/node/note:vault/Home.md")
    assert page.locator(".body .embed").count() == 1  # the Glossary, embedded
    page.click(".body a.wikilink >> text=Retry and Backoff")
    page.wait_for_url("**/node/note:vault/Retry%20and%20Backoff.md")
    _graph_nodes(page)
    assert page.locator("#graph canvas").count() > 0
    screenshot(page, "node-note")
    assert page.errors == []


def test_graph_depth_and_click_to_navigate(page: Any) -> None:
    page.goto(node_url(HOME))
    one = _graph_nodes(page)
    page.click(".depth-btn[data-depth='2']")
    _graph_nodes(page, more_than=one)
    page.click(".depth-btn[data-depth='1']")
    _graph_nodes(page, equal=one)
    # Laid out by the server like the full-page graph: sections folded into their note, the
    # labels that fit shown (the centre's always), a legend of the kinds drawn.
    assert int(page.locator("#graph").get_attribute("data-labelled") or 0) >= 1
    assert page.locator(".graph-legend .legend-item").count() >= 1
    assert page.errors == []


def test_definition_page(page: Any) -> None:
    page.goto(node_url("def:code/resilience.py::retry"))
    assert page.locator(".highlight .k").count() > 0
    assert "Call fn until it succeeds" in page.locator(".docstring").inner_text()
    _graph_nodes(page)
    screenshot(page, "node-function")
    assert page.errors == []


def test_note_content_cannot_run_script(page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(node_url("note:vault/Payloads.md"))
    page.wait_for_selector(".body.markdown")
    assert page.evaluate("window.__xss") is None
    assert page.locator(".body script, .body img, .body svg, .body [onerror]").count() == 0
    hrefs = page.eval_on_selector_all(".body a", "els => els.map(e => e.getAttribute('href'))")
    assert all(not h.lower().startswith(("javascript:", "data:")) for h in hrefs)
    assert page.locator(".body a.wikilink").count() == 1
    page.click(".body a.wikilink")  # the alias full of HTML is text in a normal link
    page.wait_for_url("**/node/note:vault/Home.md")
    assert page.evaluate("window.__xss") is None and dialogs == []
    screenshot(page, "node-xss")


def test_console_runs_a_query_and_refuses_a_write(page: Any) -> None:
    page.goto("/console")
    page.fill("#query", "MATCH (a:Note)-[l:LINKS_TO]->(b) RETURN a, l, b")
    page.focus("#query")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#result-table tbody tr")
    assert page.locator("#result-table tbody tr").count() == 4
    _graph_nodes(page, "#result-graph")
    screenshot(page, "console")
    page.fill("#query", "MATCH (n:Note) DETACH DELETE n")
    page.click("#run")
    page.wait_for_selector(".console-error")
    assert "ReadOnlyViolation" in page.locator(".console-error").inner_text()
    screenshot(page, "console-write-refused")
    page.click("a.example >> text=Most linked-to notes")
    page.wait_for_selector("#result-table tbody tr")
    assert [e for e in page.errors if "403 (FORBIDDEN)" not in e] == []  # the refused write's page is a 403


def test_download_an_export(page: Any) -> None:
    page.goto("/export")
    with page.expect_download() as info:
        page.click("#export-graph-jsonl")
    download = info.value
    assert download.suggested_filename == "graph.jsonl"
    rows = [json.loads(line) for line in Path(download.path()).read_text(encoding="utf-8").splitlines()]
    assert {r["type"] for r in rows} == {"node", "edge"}
    with page.expect_download() as info:
        page.click("#export-triplets-csv")
    assert Path(info.value.path()).read_text(encoding="utf-8").startswith("anchor,positive,negative")
    screenshot(page, "export")
    assert page.errors == []


def test_models_and_stats_pages(page: Any, app: Any) -> None:
    from embed.registry import Registry

    class Saveable:
        def save(self, path: str) -> None:
            from pathlib import Path

            Path(path).mkdir(parents=True)

    registry = Registry(app.extensions["kg"].settings.db / "models")
    curve = [{"step": s, "loss": 1.5 / (1 + s / 10) + 0.05 * ((s * 7) % 5) / 5} for s in range(120)]
    record = registry.add(Saveable(), kind="scratch", fingerprint="f00d", metrics={
        "cosine_accuracy": 0.91, "mrr@10": 0.64, "ndcg@10": 0.70}, baseline={"cosine_accuracy": 0.84,
        "mrr@10": 0.55, "ndcg@10": 0.61}, curve=curve)
    registry.promote(record.name)
    page.goto("/models")
    assert page.locator(".model-card.promoted svg.chart polyline").count() == 1
    screenshot(page, "models")
    page.goto("/stats")
    screenshot(page, "stats")
    assert page.errors == []


def test_home_page_says_what_is_indexed_and_its_examples_search(page: Any) -> None:
    page.goto("/")
    home = page.locator("#home")
    assert home.is_visible() and page.locator("#root-vault").is_visible() and page.locator("#root-code").is_visible()
    screenshot(page, "home")
    example = page.locator("a.example").first
    query = example.inner_text()
    example.click()
    page.wait_for_selector("#result-list li.result")
    assert page.input_value("#q") == query and not home.is_visible()
    page.wait_for_load_state("load")  # the page's scripts listen to the box from here on
    page.fill("#q", "")
    assert wait_for(home.is_visible, 5)
    assert page.errors == []


def test_more_results_adds_ten_and_a_new_query_starts_over(page: Any) -> None:
    page.goto("/?q=retry&k=2")
    assert page.locator("li.result").count() == 2
    page.click("#more-results")
    assert wait_for(lambda: page.locator("li.result").count() > 2, 10)
    assert "k=12" in page.url
    page.fill("#q", "jitter")
    assert wait_for(lambda: page.locator("#result-list[data-query=jitter]").count() == 1, 10)
    assert "k=" not in page.url
    assert page.errors == []


def test_promote_button_makes_the_model_the_one_search_uses(page: Any, app: Any) -> None:
    from tests.web.graph_fixture import static_model, write_graph

    db = app.extensions["kg"].settings.db
    write_graph(db)
    record = static_model(db, "tiny")
    page.goto("/models")
    card = page.locator(f"#model-{record.name}")
    assert "static, from random weights" in card.inner_text() and not card.locator(".badge").count()
    with page.expect_navigation():
        card.locator("button.promote").click()
    assert page.locator(f"#model-{record.name}.promoted .badge").inner_text() == "promoted"
    assert app.extensions["kg"].workspace.registry().promoted() == record.path
    screenshot(page, "models-promoted")
    assert page.errors == []


NARROW_PAGES = {"narrow-home": "/", "narrow-results": "/?q=retry", "narrow-definition": node_url(RETRY),
                "narrow-note": node_url(HOME), "narrow-console": "/console?query=MATCH+(n)+RETURN+n.id,+n.name+LIMIT+5",
                "narrow-models": "/models", "narrow-graph": "/graph"}


def test_every_page_fits_a_420_px_window(page: Any) -> None:
    page.set_viewport_size({"width": 420, "height": 900})
    for name, url in NARROW_PAGES.items():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 420, f"{url} is {wide} px wide at 420"
        # nothing is cut off: every element that is wider than the window scrolls inside itself
        cut = page.evaluate("""() => Array.from(document.querySelectorAll('main *')).filter((el) => {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.right <= 421) return false;
            let p = el;
            while (p && p !== document.body) {
                const s = getComputedStyle(p);
                if (['auto', 'scroll', 'hidden'].includes(s.overflowX) && p.getBoundingClientRect().right <= 421) return false;
                p = p.parentElement;
            }
            return true;
        }).map((el) => el.tagName + '.' + el.className).slice(0, 5)""")
        assert cut == [], f"{url}: cut off at 420 px: {cut}"
        screenshot(page, name)
    assert page.errors == []


def test_full_page_graph_overview_filters_and_local_depth(page: Any) -> None:
    page.goto("/graph")
    box = page.locator("#graph-full")
    assert wait_for(lambda: box.get_attribute("data-nodes") not in (None, "0"), 20)
    assert box.get_attribute("data-clusters") == "2"  # vault and code, as boxes
    screenshot(page, "graph-overview")
    whole = int(box.get_attribute("data-nodes"))
    page.uncheck("#g-files")
    assert wait_for(lambda: int(box.get_attribute("data-nodes")) < whole, 10)
    assert "kind=note" in page.url
    page.goto("/graph?node=" + HOME.replace(":", "%3A") + "&depth=1")
    assert wait_for(lambda: box.get_attribute("data-nodes") not in (None, "0"), 20)
    near = int(box.get_attribute("data-nodes"))
    page.locator("#g-depth").fill("3")
    assert wait_for(lambda: int(box.get_attribute("data-nodes")) > near, 10)
    assert page.locator("#graph-center").inner_text() == "Home"
    screenshot(page, "graph-local")
    assert page.errors == []
