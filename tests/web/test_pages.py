"""The HTML pages and their JSON twins."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app.workspace import Workspace
from web.http import node_url

HOME = "note:vault/Home.md"
RETRY = "def:code/resilience.py::retry"
PAGES = ["/", "/?q=jitter", "/console", "/console?query=MATCH+(n:Note)+RETURN+n.name", "/models", "/export",
         "/stats", node_url(HOME), node_url(RETRY), node_url("tag:moc"), node_url("file:code/resilience.py")]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_and_has_a_json_twin(client: Any, url: str) -> None:
    html = client.get(url)
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert 'class="json-twin"' in html.data.decode()
    twin = client.get(url + ("&" if "?" in url else "?") + "format=json")
    assert twin.status_code == 200 and twin.mimetype == "application/json" and twin.get_json()["ok"] is True


def test_no_inline_script_or_style_in_any_page(client: Any) -> None:
    for url in PAGES:
        html = client.get(url).data.decode()
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))", html), url
        assert " style=" not in html and "<style" not in html, url
        assert not re.search(r"\son[a-z]+=", html), url


def test_error_page_and_json_error_shape(client: Any) -> None:
    page = client.get(node_url("note:vault/Nope.md"))
    assert page.status_code == 404 and "Error 404" in page.data.decode()
    twin = client.get(node_url("note:vault/Nope.md") + "?format=json")
    assert twin.status_code == 404 and twin.get_json() == {
        "ok": False, "status": 404, "error": twin.get_json()["error"]}
    assert client.get("/nowhere").status_code == 404
    wants = client.get("/nowhere", headers={"Accept": "application/json"})
    assert wants.get_json()["status"] == 404


def test_search_page_marks_terms_and_escapes(client: Any) -> None:
    html = client.get("/?q=jitter").data.decode()
    assert "add random <mark>jitter</mark> so clients" in html.lower()
    assert 'data-id="heading:vault/Retry and Backoff.md#Retry and Backoff#Jitter"' in html
    partial = client.get("/search?q=jitter&partial=1").data.decode()
    assert partial.lstrip().startswith('<p class="meta"') and "<html" not in partial
    evil = client.get("/?q=%3Cscript%3Ealert(1)%3C/script%3E").data.decode()
    assert "<script>alert(1)" not in evil and "&lt;script&gt;alert(1)" in evil


def test_search_page_without_an_index_says_so(graph: Any, settings: Any) -> None:
    from web import create_app

    app = create_app(settings, workspace=Workspace(settings), store=graph.store, roots=graph.roots)
    response = app.test_client().get("/?q=retry")
    assert response.status_code == 503 and "no search index" in response.data.decode()
    assert app.test_client().get("/api/search?q=retry").get_json()["status"] == 503


def test_note_page_renders_the_file_with_links_and_embeds(client: Any) -> None:
    html = client.get(node_url(HOME)).data.decode()
    assert 'href="/node/note:vault/Retry%20and%20Backoff.md"' in html
    assert 'href="/node/heading:vault/Retry%20and%20Backoff.md%23Retry%20and%20Backoff%23Jitter"' in html
    assert ">jitter section</a>" in html
    assert 'class="wikilink unresolved"' in html
    assert '<div class="embed">' in html and "Idempotency" in html  # Glossary embedded
    assert '<img class="attachment" src="/file/attachment:vault/diagram.png"' in html
    assert "<code>[[not a link]]</code>" in html
    assert "tags: [moc]" not in html  # frontmatter is not shown


def test_definition_page_highlights_source_with_docstring(client: Any) -> None:
    html = client.get(node_url(RETRY)).data.decode()
    assert '<pre class="signature"><code>def retry(fn, attempts=3)</code></pre>' in html
    assert "Call fn until it succeeds" in html
    assert 'class="linenos"> 4</span>' in html or 'class="linenos">4</span>' in html
    for title in ("Callees", "Mentioned in notes", "Contained in"):
        assert f"<h2>{title}" in html


def test_files_are_served_only_from_inside_a_root(client: Any, graph: Any) -> None:
    image = client.get("/file/attachment:vault/diagram.png")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert client.get("/file/note:vault/Home.md").status_code == 404  # not an attachment
    for sneaky in ("/file/attachment:vault/../secret.txt", "/file/attachment:vault/%2E%2E/secret.txt",
                   "/file/" + str(graph.base / "secret.txt"), "/node/note:vault/../secret.txt"):
        response = client.get(sneaky, follow_redirects=True)
        assert response.status_code == 404 and b"TOP SECRET" not in response.data, sneaky


def test_a_stored_path_that_escapes_its_root_is_not_read(graph: Any) -> None:
    from kg.model import Node, NodeKind
    from web.nodes import NodePages

    pages = NodePages(graph.store, graph.roots, 1_000_000)
    evil = Node(id="note:vault/../secret.txt", kind=NodeKind.NOTE, name="x", root="vault",
                path="../secret.txt", text="stored text")
    assert pages._text(evil) == ("stored text", "text")
    absolute = Node(id="note:vault/abs", kind=NodeKind.NOTE, name="x", root="vault",
                    path=str(graph.base / "secret.txt"), text="")
    assert pages._text(absolute) == ("", "none")


def test_console_page_runs_shows_rows_and_errors(client: Any) -> None:
    ok = client.get("/console?query=MATCH+(a:Note)-[l:LINKS_TO]->(b:Note)+RETURN+a,l,b").data.decode()
    assert 'id="result-table"' in ok and 'id="result-graph-data"' in ok and "cell-rel" in ok
    data = re.search(r'id="result-graph-data">(.*?)</script>', ok, re.S).group(1)
    assert json.loads(data)["nodes"]
    nodes_only = client.get("/console?query=MATCH+(n:Note)+RETURN+n").data.decode()
    assert 'id="result-table"' in nodes_only and 'id="result-graph"' not in nodes_only
    write = client.get("/console?query=CREATE+(t:Tag+{id:'x'})")
    assert write.status_code == 403 and "ReadOnlyViolation" in write.data.decode()
    capped = client.get("/console?query=UNWIND+range(1,100)+AS+i+RETURN+i").data.decode()
    assert "Stopped at the row cap" in capped
    bad = client.get("/console?query=MATCH+(n)+RETURN+n&params=%7Bnope").data.decode()
    assert "parameters must be a JSON object" in bad
    assert client.get("/console?format=json").get_json()["examples"]


def test_models_page_shows_metrics_and_curves(graph: Any, settings: Any) -> None:
    from embed.registry import Registry
    from web import create_app

    class Saveable:
        def save(self, path: str) -> None:
            from pathlib import Path

            Path(path).mkdir(parents=True)

    registry = Registry(settings.db / "models")
    record = registry.add(Saveable(), kind="static", fingerprint="abc123", base="random weights",
                          metrics={"mrr@10": 0.61, "accuracy": 0.9, "queries": 115.0, "ndcg_gain": 0.066,
                                   "ndcg_gain_low": 0.044, "ndcg_gain_high": 0.087},
                          baseline={"mrr@10": 0.52, "queries": 115, "model": "current (all-MiniLM-L6-v2)"},
                          curve=[{"step": s, "loss": 2.0 / (s + 1)} for s in range(50)])
    other = registry.add(Saveable(), kind="finetune", fingerprint="abc124", base="all-MiniLM-L6-v2", metrics={}, curve=[])
    registry.promote(record.name)
    client = create_app(settings, workspace=Workspace(settings), store=graph.store, roots=graph.roots).test_client()
    html = client.get("/models").data.decode()
    assert record.name in html and "promoted" in html and ">0.610<" in html and ">0.520<" in html
    assert ">115<" in html and "115.0" not in html  # counts read as counts
    assert "static, from random weights" in html and "fine-tuned from all-MiniLM-L6-v2" in html
    assert "+0.066 against current (all-MiniLM-L6-v2) (95% interval +0.044 to +0.087) on 115 held-out" in html
    # only the model that is not promoted has a Promote button
    assert html.count('class="promote"') == 1 and f'data-name="{other.name}"' in html
    assert '<svg class="chart"' in html and "<polyline" in html
    twin = client.get("/models?format=json").get_json()
    assert twin["models"][0]["metrics"]["mrr@10"] == 0.61 and len(twin["models"][0]["curve"]) == 50


def test_results_and_pages_open_in_obsidian_and_the_editor(client: Any, graph: Any) -> None:
    from urllib.parse import quote

    html = client.get("/?q=jitter").data.decode()
    vault = graph.roots["vault"]
    assert f'href="obsidian://open?vault={quote(vault.name, safe="")}&amp;file=Retry%20and%20Backoff.md"' in html
    page = client.get(node_url("def:code/resilience.py::retry")).data.decode()
    code = graph.roots["code"]
    assert f'href="vscode://file{quote(str(code / "resilience.py"), safe="/:")}:4"' in page
    assert "obsidian://" not in page.split('class="node-id"')[1].split("</p>")[0], "code opens in the editor only"


def test_the_home_page_says_what_is_indexed_with_example_queries_that_work(client: Any, graph: Any) -> None:
    home = client.get("/?format=json").get_json()["home"]
    roots = {r["name"]: r for r in home["roots"]}
    assert set(roots) == set(graph.roots)
    assert roots["vault"]["counts"]["notes"] >= 3 and roots["code"]["counts"]["functions"] >= 1
    assert roots["vault"]["folder"] == str(graph.roots["vault"].resolve())
    assert home["examples"], "the example graph has referenced notes and definitions to suggest"
    for example in home["examples"]:
        found = client.get(f"/api/search?q={example['query']}&k=3").get_json()["results"]
        assert example["id"] in [r["id"] for r in found], example
    html = client.get("/").data.decode()
    assert "What is indexed" in html and 'id="root-vault"' in html and 'class="example"' in html
    assert re.search(r'<section id="home"[^>]*hidden', client.get("/?q=retry").data.decode())  # shown when the query is cleared


def test_more_results_asks_for_ten_more_and_nonsense_gets_no_good_match(client: Any) -> None:
    first = client.get("/search?q=retry&k=2&partial=1").data.decode()
    assert len(re.findall(r'<li class="result"', first)) == 2
    more = re.search(r'id="more-results" href="([^"]+)"', first)
    assert more and "k=12" in more.group(1) and "q=retry" in more.group(1)
    page = client.get(more.group(1).replace("&amp;", "&")).data.decode()
    assert len(re.findall(r'<li class="result"', page)) > 2
    nothing = client.get("/search?q=zzzqqq+xxyyzz&partial=1").data.decode()
    assert 'id="no-match"' in nothing and "No good match" in nothing
