"""The JSON API: every route, its status codes and the one error shape."""

from __future__ import annotations

import json
from typing import Any

from web.http import node_url

HOME = "note:vault/Home.md"
JITTER = "heading:vault/Retry and Backoff.md#Retry and Backoff#Jitter"
RETRY = "def:code/resilience.py::retry"


def api(node_id: str, suffix: str = "") -> str:
    return "/api" + node_url(node_id) + suffix


def assert_error(response: Any, status: int, needle: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.data[:300]
    body = response.get_json()
    assert body["ok"] is False and body["status"] == status and isinstance(body["error"], str)
    assert needle.lower() in body["error"].lower()
    return body


def test_openapi_describes_every_api_route(client: Any, app: Any) -> None:
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {p.replace("{node_id}", "<path:node_id>") for p in doc["paths"]}
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/") and r.rule not in
              ("/api/", "/api/openapi.json")}
    assert routes == documented
    assert client.get("/api/").get_json()["openapi"] == "/api/openapi.json"


def test_search_returns_results_as_the_cli_does(client: Any) -> None:
    body = client.get("/api/search?q=jitter&k=5").get_json()
    assert body["ok"] and body["query"] == "jitter" and body["k"] == 5
    assert body["results"], "the Jitter heading should be found"
    first = body["results"][0]
    for key in ("id", "kind", "root", "path", "name", "qualname", "heading", "score", "why"):
        assert key in first
    assert JITTER in [r["id"] for r in body["results"]]


def test_search_filters_and_bounds(client: Any) -> None:
    only_code = client.get("/api/search?q=retry&kind=Function,Class&root=code").get_json()
    assert only_code["results"] and {r["kind"] for r in only_code["results"]} <= {"Function", "Class"}
    assert only_code["filters"] == {"kind": ["Function", "Class"], "root": ["code"], "tag": [], "path": [],
                                    "exclude_tests": False}
    delays = client.get("/api/search?q=delay+backoff&path=resilience.py&exclude_tests=1").get_json()
    assert delays["results"] and {r["path"] for r in delays["results"]} == {"resilience.py"}
    assert client.get("/api/search?q=delay&path=nowhere/").get_json()["results"] == []
    assert_error(client.get("/api/search?q=x&exclude_tests=maybe"), 400, "exclude_tests")
    assert client.get("/api/search?q=retry&k=100000").get_json()["k"] == 100
    assert client.get("/api/search?q=").get_json()["results"] == []
    assert_error(client.get("/api/search?q=x&kind=Planet"), 400, "unknown kind")
    assert_error(client.get("/api/search?q=x&k=many"), 400, "integer")
    assert_error(client.get("/api/search?q=" + "x" * 600), 400, "at most 500")


def test_node_and_its_relations(client: Any) -> None:
    body = client.get(api(JITTER)).get_json()
    assert body["node"]["id"] == JITTER and body["node"]["kind"] == "Heading"
    groups = {g["key"]: [i["id"] for i in g["items"]] for g in body["relations"]}
    assert groups["backlinks"] == [HOME]
    assert groups["mentions_code"] == [RETRY, "file:code/resilience.py"]
    assert groups["parent"] == ["note:vault/Retry and Backoff.md"]
    code = client.get(api(RETRY)).get_json()
    code_groups = {g["key"]: [i["id"] for i in g["items"]] for g in code["relations"]}
    assert code_groups["callees"] == ["def:code/resilience.py::Backoff.delay"]
    assert code_groups["mentions"] == [JITTER]
    assert code["body"]["source"] == "file" and "linenos" in code["body"]["html"]


def test_note_backlinks_include_links_to_its_headings(client: Any) -> None:
    body = client.get(api("note:vault/Retry and Backoff.md")).get_json()
    backlinks = next(g for g in body["relations"] if g["key"] == "backlinks")["items"]
    assert [(i["id"], i["via"]) for i in backlinks] == [(HOME, ""), (HOME, "Jitter")]


def test_missing_node_is_404_in_the_one_shape(client: Any) -> None:
    assert_error(client.get(api("note:vault/Nope.md")), 404, "not in the graph")
    assert_error(client.get(api("note:vault/Nope.md", "/neighbours")), 404)
    assert_error(client.get("/api/no/such/route"), 404)


def test_neighbours_depth_is_clamped(client: Any) -> None:
    one = client.get(api(HOME, "/neighbours?depth=1")).get_json()
    two = client.get(api(HOME, "/neighbours?depth=2")).get_json()
    huge = client.get(api(HOME, "/neighbours?depth=99")).get_json()
    assert one["depth"] == 1 and two["depth"] == 2 and huge["depth"] == 2
    assert len(two["nodes"]) > len(one["nodes"])
    ids = {n["id"] for n in one["nodes"]}
    assert {HOME, "note:vault/Retry and Backoff.md", JITTER, "tag:moc"} <= ids
    assert all(e["src"] in ids and e["dst"] in ids for e in one["edges"])
    assert client.get(api(HOME, "/neighbours?depth=0")).get_json()["depth"] == 1


def cypher(client: Any, body: Any, **kw: Any) -> Any:
    return client.post("/api/cypher", data=json.dumps(body), content_type="application/json", **kw)


def test_cypher_reads_with_params_and_returns_a_graph(client: Any) -> None:
    body = cypher(client, {"query": "MATCH (a:Note {id: $id})-[l:LINKS_TO]->(b) RETURN a, l, b",
                           "params": {"id": HOME}}).get_json()
    assert body["ok"] and body["columns"] == ["a", "l", "b"] and len(body["rows"]) == 3
    assert body["truncated"] is False and body["notice"] == ""
    assert len(body["graph"]["nodes"]) == 4 and len(body["graph"]["edges"]) == 3


def test_cypher_refuses_writes(client: Any) -> None:
    assert_error(cypher(client, {"query": "CREATE (t:Tag {id: 'tag:evil', name: 'evil'})"}), 403, "read-only")
    assert_error(cypher(client, {"query": "MATCH (n:Note) DETACH DELETE n"}), 403)
    assert client.get(api(HOME)).status_code == 200  # nothing was deleted


def test_cypher_row_cap_says_it_was_hit(client: Any) -> None:
    body = cypher(client, {"query": "UNWIND range(1, 500) AS i RETURN i"}).get_json()
    assert len(body["rows"]) == 50 and body["truncated"] and "row cap" in body["notice"]
    smaller = cypher(client, {"query": "UNWIND range(1, 500) AS i RETURN i", "max_rows": 7}).get_json()
    assert len(smaller["rows"]) == 7 and smaller["row_cap"] == 7


def test_cypher_timeout_says_it_was_hit(app: Any, client: Any) -> None:
    svc = app.extensions["kg"]
    svc.settings = svc.settings.with_(query_timeout_ms=1)
    body = assert_error(cypher(client, {"query": "UNWIND range(1, 3000000) AS i WITH i WHERE i % 7 = 3 "
                                                 "RETURN sum(i * i) AS s"}), 408, "time limit")
    assert "1 ms" in body["error"]


def test_cypher_bad_input(client: Any) -> None:
    assert_error(cypher(client, {"query": ""}), 400, "give a cypher query")
    assert_error(cypher(client, {"query": "MATCH (n) RETURN n", "params": [1]}), 400, "json object")
    assert_error(cypher(client, {"query": "MATCH (n RETURN n"}), 400)
    assert_error(cypher(client, {"query": "x" * 30_000}), 413)
    assert_error(client.post("/api/cypher", data="query=MATCH (n) RETURN n",
                             content_type="application/x-www-form-urlencoded"), 415, "application/json")
    assert_error(client.post("/api/cypher", data="[1, 2]", content_type="application/json"), 400, "object")
    assert_error(client.get("/api/cypher"), 405)


def feedback(client: Any, body: Any) -> Any:
    return client.post("/api/feedback", data=json.dumps(body), content_type="application/json")


def test_feedback_round_trip(app: Any, client: Any) -> None:
    sid = feedback(client, {"event": "search", "query": "jitter", "results": [JITTER, HOME]}).get_json()["search_id"]
    oid = feedback(client, {"event": "open", "search_id": sid, "node_id": HOME, "position": 1}).get_json()["open_id"]
    assert feedback(client, {"event": "dwell", "open_id": oid, "dwell_ms": 1234}).get_json() == {"ok": True}
    [judgement] = list(app.extensions["kg"].feedback.judgements())
    assert (judgement.query, judgement.opened, judgement.skipped, judgement.position, judgement.dwell_ms) == \
        ("jitter", HOME, [JITTER], 1, 1234)


def test_feedback_bad_events(client: Any) -> None:
    assert_error(feedback(client, {"event": "like"}), 400, "event")
    assert_error(feedback(client, {"event": "open", "search_id": 1}), 400, "node_id")
    assert_error(feedback(client, {"event": "search", "query": "q"}), 400, "results")
    assert_error(feedback(client, {"event": "dwell", "open_id": "x", "dwell_ms": 1}), 400)


def test_export_graph_jsonl_and_graphml(client: Any) -> None:
    response = client.get("/api/export/graph?format=jsonl")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = [json.loads(line) for line in response.data.decode().splitlines()]
    nodes = [r for r in rows if r["type"] == "node"]
    edges = [r for r in rows if r["type"] == "edge"]
    assert len(nodes) == 13 and len(edges) == 15
    assert {"id", "kind", "root", "path", "text"} <= set(nodes[0])
    assert {"src", "dst", "kind"} <= set(edges[0])
    import networkx as nx
    import io

    graphml = client.get("/api/export/graph?format=graphml")
    G = nx.read_graphml(io.BytesIO(graphml.data))  # noqa: N806
    assert G.number_of_nodes() == 13 and G.number_of_edges() == 15
    assert_error(client.get("/api/export/graph?format=xlsx"), 400, "unknown format")


def test_export_triplets_formats(client: Any) -> None:
    response = client.get("/api/export/triplets?format=jsonl")
    assert response.status_code == 200, response.data[:300]
    rows = [json.loads(line) for line in response.data.decode().splitlines() if line]
    assert rows and {"anchor", "positive", "negative"} <= set(rows[0])
    import io

    import pyarrow.parquet as pq

    csv_text = client.get("/api/export/triplets?format=csv").data.decode()
    assert csv_text.splitlines()[0].startswith("anchor,positive,negative")
    table = pq.read_table(io.BytesIO(client.get("/api/export/triplets?format=parquet").data))
    assert table.num_rows == len(rows)
    train = client.get("/api/export/triplets?format=jsonl&split=train&negatives=2").data.decode().splitlines()
    assert all(json.loads(line)["split"] == "train" for line in train)
    assert_error(client.get("/api/export/triplets?format=xml"), 400, "unknown format")
    assert_error(client.get("/api/export/triplets?split=holdout"), 400, "split")


def test_stats(client: Any) -> None:
    body = client.get("/api/stats").get_json()
    assert body["total_nodes"] == 13 and body["nodes"]["Note"] == 4


def test_promote_makes_a_model_the_one_search_uses_and_refuses_what_it_cannot(client: Any, app: Any,
                                                                                 settings: Any) -> None:
    from tests.web.graph_fixture import static_model, write_graph

    record = static_model(settings.db, "tiny")
    assert_error(client.post("/api/models/promote", json={"name": "nope"}), 404, "no model 'nope'")
    assert_error(client.post("/api/models/promote", json={"name": "../../etc"}), 404, "bad model name")
    assert_error(client.post("/api/models/promote", json={}), 400, "name")
    assert_error(client.post("/api/models/promote", data="name=tiny",
                             content_type="application/x-www-form-urlencoded"), 415, "application/json")
    assert_error(client.post("/api/models/promote", json={"name": "tiny"},
                             headers={"Origin": "http://evil.example"}), 403)
    workspace = app.extensions["kg"].workspace
    assert workspace.registry().promoted() is None  # none of those promoted anything
    # the workspace has no graph yet: the index cannot be re-embedded, so the promotion is undone
    assert_error(client.post("/api/models/promote", json={"name": "tiny"}), 503, "no graph")
    assert workspace.registry().promoted() is None
    write_graph(settings.db)
    done = client.post("/api/models/promote", json={"name": "tiny"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["promoted"] == "tiny" and done.get_json()["index"]["embedded"] > 0
    assert workspace.registry().promoted() == record.path
    assert workspace.encoder().path == record.path.resolve()
    assert client.get("/models?format=json").get_json()["models"][0]["promoted"] is True


def test_graph_overview_folds_sections_and_definitions_into_notes_and_files(client: Any) -> None:
    data = client.get("/api/graph").get_json()
    assert data["mode"] == "overview"
    kinds = {n["kind"] for n in data["nodes"]}
    assert kinds <= {"Note", "File"} and kinds == {"Note", "File"}
    edges = {(e["src"], e["dst"], e["kind"]) for e in data["edges"]}
    retry_note, code = "note:vault/Retry and Backoff.md", "file:code/resilience.py"
    assert ("note:vault/Home.md", retry_note, "LINKS_TO") in edges
    # the Jitter section's mentions of the file and of `retry` inside it: one weighted edge note → file
    mention = next(e for e in data["edges"] if (e["src"], e["dst"], e["kind"]) == (retry_note, code, "MENTIONS"))
    assert mention["weight"] == 2
    assert {c["key"] for c in data["clusters"]} == {"vault", "code"}
    notes_only = client.get("/api/graph?kind=note&root=vault").get_json()
    assert {n["kind"] for n in notes_only["nodes"]} == {"Note"} and all(n["cluster"] == "vault" for n in notes_only["nodes"])
    tagged = client.get("/api/graph?tag=moc").get_json()
    assert [n["id"] for n in tagged["nodes"]] == ["note:vault/Home.md"]
    capped = client.get("/api/graph?limit=2").get_json()
    assert capped["shown"] == 2 and capped["truncated"] and capped["total"] > 2
    alone = client.get("/api/graph?limit=1").get_json()  # nothing linked at all: drawn anyway, not an empty page
    assert len(alone["nodes"]) == 1 and alone["unlinked"] == 0
    assert_error(client.get("/api/graph?kind=heading"), 400, "note or file")


def test_graph_local_includes_a_notes_sections_links_and_grows_with_depth(client: Any) -> None:
    retry_note = "note:vault/Retry and Backoff.md"
    one = client.get(f"/api/graph?node={retry_note}&depth=1").get_json()
    ids = {n["id"] for n in one["nodes"]}
    assert one["mode"] == "local" and one["center"] == retry_note
    # its Jitter section mentions `retry` and resilience.py: they are in the note's graph, the section is folded in
    assert {RETRY, "file:code/resilience.py", HOME} <= ids and JITTER not in ids
    three = client.get(f"/api/graph?node={retry_note}&depth=3").get_json()
    assert {n["id"] for n in three["nodes"]} > ids  # Backoff.delay, called by retry, is two hops out
    from urllib.parse import quote

    section = client.get(f"/api/graph?node={quote(JITTER)}").get_json()
    assert section["center"] == retry_note  # a section's graph is its note's
    assert_error(client.get("/api/graph?node=note:vault/Nope.md"), 404, "Nope")


def test_graph_overview_leaves_out_unlinked_nodes_only_when_some_are_linked() -> None:
    from web.graph_layout import drop_unlinked

    def view(keys: str, edges: list[tuple[str, str]]) -> dict[str, Any]:
        return {"nodes": [{"key": k} for k in keys], "edges": [{"src": a, "dst": b} for a, b in edges],
                "shown": len(keys)}

    some = drop_unlinked(view("abc", [("a", "b")]))
    assert [n["key"] for n in some["nodes"]] == ["a", "b"] and some["unlinked"] == 1 and some["shown"] == 2
    none = drop_unlinked(view("ab", []))  # a tag whose notes don't link each other: still drawn
    assert [n["key"] for n in none["nodes"]] == ["a", "b"] and none["unlinked"] == 0 and none["shown"] == 2


def test_graph_layout_places_every_node_and_no_two_shown_labels_collide(client: Any) -> None:
    from web.graph_layout import label_box

    for url in ("/api/graph", f"/api/graph?node={HOME}&depth=3"):
        data = client.get(url).get_json()
        assert all(isinstance(n["x"], float) and isinstance(n["y"], float) for n in data["nodes"])
        shown = [label_box(n) for n in data["nodes"] if n["labelled"]]
        assert shown, url
        for i, a in enumerate(shown):
            for b in shown[i + 1:]:
                assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (url, a, b)
        if data["mode"] == "local":
            assert next(n for n in data["nodes"] if n["id"] == HOME)["labelled"]  # the centre always says its name


def test_a_notes_page_lists_the_links_and_code_of_its_sections(client: Any) -> None:
    body = client.get(api("note:vault/Retry and Backoff.md")).get_json()
    groups = {g["key"]: [(i["id"], i["via"]) for i in g["items"]] for g in body["relations"]}
    # the Jitter section mentions the code; the note's page says so, naming the section
    assert (RETRY, "Jitter") in groups["mentions_code"] and ("file:code/resilience.py", "Jitter") in groups["mentions_code"]
