"""The web app over a graph the real ingest pipeline built (tests/fixtures/vault plus a note of
XSS payloads), served the way ``kg serve`` serves it: store opened read-only from the settings,
roots read from the ingest state."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kg.settings import Settings
from tests.web.graph_fixture import XSS_NOTE
from web.http import node_url

FIXTURE_VAULT = Path(__file__).resolve().parents[1] / "fixtures" / "vault"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from ingest.pipeline import Pipeline
    from kg.store.ladybug import LadybugStore
    from search.index import SearchIndex
    from tests.support.encoders import tiny_encoder
    from app.workspace import Workspace
    from web import create_app

    base = tmp_path_factory.mktemp("ingested")
    vault = base / "vault"
    shutil.copytree(FIXTURE_VAULT, vault)
    (vault / "Payloads.md").write_text(XSS_NOTE, encoding="utf-8")
    db = base / "db"
    store = LadybugStore.open(db / "graph")
    store.migrate()
    pipeline = Pipeline(store, db / "ingest.sqlite")
    shutil.copytree(FIXTURE_VAULT.parent / "code" / "python", base / "code")
    pipeline.ingest([("vault", vault), ("code", base / "code")])
    pipeline.close()
    encoder = tiny_encoder()
    SearchIndex.open(db / "search").sync(store, encoder)
    store.close()

    def searcher(svc: Any) -> Any:
        from search.engine import Searcher

        return Searcher(svc.store, SearchIndex.open(db / "search"), encoder)

    with Workspace(Settings(db=db)) as ws:
        app = create_app(ws.settings, workspace=ws, searcher_factory=searcher)
        yield app.test_client()


def _hrefs(html: str) -> dict[str, str]:
    """Link text → href of the rendered note body."""
    body = html[html.index('<div class="body'):html.index("</article>")]
    return {re.sub(r"<[^>]+>", "", text): href
            for href, text in re.findall(r'<a class="wikilink[^"]*" href="([^"]+)"[^>]*>(.*?)</a>', body)}


def test_every_wikilink_form_lands_on_its_target(ingested: Any) -> None:
    html = ingested.get(node_url("note:vault/Link Forms.md")).data.decode()
    links = _hrefs(html)
    assert links["Glossary"] == "/node/note:vault/Glossary.md"
    assert links["Glossary.md"] == "/node/note:vault/Glossary.md"
    assert links["Projects/Alpha"] == "/node/note:vault/Projects/Alpha.md"
    assert links["vector embeddings"] == "/node/note:vault/Embeddings.md"
    assert links["Retry and Backoff#Exponential backoff"].startswith("/node/heading:vault/Retry%20and%20Backoff.md%23")
    assert links["Retry and Backoff#^retry-rule"].startswith("/node/block:vault/Retry%20and%20Backoff.md%23%5E")
    assert links["Retry policy"] == "/node/note:vault/Retry%20and%20Backoff.md"  # by alias
    assert links["scripts/backoff.py"] == "/node/file:vault/scripts/backoff.py"
    assert links["Missing Note"].startswith("/node/unresolved:vault/")
    for href in links.values():  # every link opens a page
        assert ingested.get(href).status_code == 200, href


def test_embeds_and_markdown_links_render(ingested: Any) -> None:
    html = ingested.get(node_url("note:vault/Link Forms.md")).data.decode()
    assert html.count('<div class="embed">') >= 2  # a heading and a note embedded
    assert 'src="/file/attachment:vault/assets/diagram.png"' in html
    assert 'href="/node/note:vault/Projects/Alpha.md"' in html  # [alpha](./Projects/Alpha.md)
    image = ingested.get("/file/attachment:vault/assets/diagram.png")
    assert image.status_code == 200 and image.mimetype == "image/png"


def test_ingested_xss_note_is_inert(ingested: Any) -> None:
    response = ingested.get(node_url("note:vault/Payloads.md"))
    body = response.data.decode()
    body = body[body.index('<div class="body'):body.index("</article>")]
    assert "<script" not in body and "<img" not in body and "<svg" not in body
    assert not re.search(r"<[^>]*\son\w+\s*=", body) and 'href="javascript:' not in body


def test_search_and_node_json_over_the_ingested_graph(ingested: Any) -> None:
    results = ingested.get("/api/search?q=exponential+backoff+jitter").get_json()["results"]
    assert results and any(r["path"] == "Retry and Backoff.md" for r in results)
    node = ingested.get("/api" + node_url("note:vault/Retry and Backoff.md")).get_json()
    keys = {g["key"] for g in node["relations"]}
    assert {"backlinks", "children"} <= keys and node["body"]["source"] == "file"


def test_console_cannot_write_to_a_served_graph(ingested: Any) -> None:
    response = ingested.post("/api/cypher", json={"query": "MATCH (n:Note) DETACH DELETE n"})
    assert response.status_code == 403
    assert ingested.get("/api/stats").get_json()["nodes"]["Note"] > 5


def test_possible_callers_are_listed_only_when_asked(ingested: Any) -> None:
    validate = "/api" + node_url("def:code/src/shop/models.py::Base.validate")
    plain = {g["key"]: g["items"] for g in ingested.get(validate).get_json()["relations"]}
    assert [i["label"] for i in plain["callers"]] == ["Base.save"]  # self.validate(): evidence
    assert "possible_callers" not in plain
    asked = {g["key"]: g["items"] for g in ingested.get(validate + "?guesses=1").get_json()["relations"]}
    (guess,) = asked["possible_callers"]
    assert (guess["label"], guess["how"], guess["resolved"]) == ("ship", "name-only", False)
    assert guess["via"] == "parcel.validate() at line 5"  # the call that was matched, where
    keys = [g["key"] for g in ingested.get(validate + "?guesses=1").get_json()["relations"]]
    assert keys[keys.index("callers") + 1] == "possible_callers"  # shown beside the callers
    html = ingested.get(node_url("def:code/src/shop/models.py::Base.validate")).get_data(as_text=True)
    assert "Show possible callers by name only" in html
    assert ingested.get(validate + "?guesses=maybe").status_code == 400
