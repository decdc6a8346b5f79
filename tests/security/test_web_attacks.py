"""Attacks on the web layer that must be refused before any query runs: cross-site GETs, a
foreign scheme in Origin, and malformed bodies and parameters that used to give a 500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

CROSS = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Origin": "https://evil.example"}


def _copy_to(path: Path) -> str:
    return f"COPY (RETURN 'x' AS x) TO '{path}' (header=false)"


NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


def _refused(response: Any, needle: str) -> str:
    """The 403 of the cross-site check (in the one error shape when it is JSON); its message."""
    assert response.status_code == 403, response.get_data(as_text=True)[:300]
    if response.mimetype == "application/json":
        data = response.get_json()
        assert data == {"ok": False, "error": data["error"], "status": 403}
        message = data["error"]
    else:
        message = response.get_data(as_text=True)
    assert "cross-site request refused" in message and needle in message
    assert "ReadOnlyViolation" not in message  # refused before the store's guard saw it
    return message


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_cross_site_get_runs_no_console_query(client: Any, tmp_path: Path, site: str) -> None:
    target = tmp_path / "written.csv"
    url = f"/console?query={quote(_copy_to(target))}"
    headers = {**CROSS, "Sec-Fetch-Site": site}
    _refused(client.get(url + "&format=json", headers=headers), f"Sec-Fetch-Site: {site}")
    _refused(client.get(url, headers={**headers, "Accept": "application/json"}), "JSON API")
    _refused(client.get(url, headers=headers), "not fetch or embed")  # a no-cors fetch, an <img>
    page = client.get(url, headers={"Sec-Fetch-Site": site, **NAVIGATE})  # a link on another site
    html = _refused(page, "the query was not run")
    assert 'data-kind="CrossSiteRequest"' in html and "press Run" in html
    assert "COPY (RETURN" in html and 'id="result-table"' not in html  # shown in the editor, not run
    assert not target.exists()


def test_a_cross_site_link_shows_a_harmless_query_without_running_it(client: Any) -> None:
    page = client.get("/console?query=RETURN+1+AS+one", headers={"Sec-Fetch-Site": "cross-site", **NAVIGATE})
    assert page.status_code == 403 and 'id="result-table"' not in page.get_data(as_text=True)
    ran = client.get("/console?query=RETURN+1+AS+one", headers={"Sec-Fetch-Site": "same-origin", **NAVIGATE})
    assert ran.status_code == 200 and 'id="result-table"' in ran.get_data(as_text=True)


def test_a_foreign_origin_alone_makes_a_get_cross_site(client: Any) -> None:
    query = quote("RETURN 1 AS x")
    for origin in ("https://evil.example", "null", "https://localhost", "http://localhost:0", "http://[::1"):
        _refused(client.get(f"/console?format=json&query={query}", headers={"Origin": origin}), "Origin")
    _refused(client.get("/api/stats", headers={"Origin": "http://127.0.0.1.evil.example"}), "Origin")
    assert client.get("/api/stats", headers={"Origin": "http://localhost"}).status_code == 200


def test_a_cross_site_get_of_the_json_api_is_refused(client: Any) -> None:
    for url in ("/api/search?q=retry", "/api/export/graph", "/api/export/triplets", "/api/stats",
                "/?q=retry&format=json", "/stats?format=json", "/api/node/note:vault/Home.md/neighbours"):
        for headers in (CROSS, {**CROSS, **NAVIGATE}):  # a download link is refused as well
            _refused(client.get(url, headers=headers), "JSON API")
    _refused(client.get("/stats", headers={"Sec-Fetch-Site": "cross-site", "Accept": "application/json"}), "JSON API")
    _refused(client.get("/?q=retry&partial=1", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}),
             "not fetch or embed")


def test_navigation_and_same_origin_still_work(client: Any) -> None:
    for url in ("/console", "/?q=retry", "/node/note:vault/Home.md", "/stats"):
        assert client.get(url, headers={"Sec-Fetch-Site": "cross-site", **NAVIGATE}).status_code == 200, url
    query = quote("MATCH (n:Note) RETURN count(n) AS c")
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {},
                    {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}):
        response = client.get(f"/console?format=json&query={query}", headers=headers)
        assert response.status_code == 200 and response.get_json()["result"]["columns"] == ["c"], headers


def _post(client: Any, url: str, data: str | bytes, **headers: str) -> Any:
    return client.post(url, data=data, content_type="application/json", headers=headers)


def test_the_origin_must_match_scheme_host_and_port(client: Any) -> None:
    body = json.dumps({"query": "RETURN 1 AS x"})
    assert _post(client, "/api/cypher", body, Origin="https://localhost").status_code == 403
    assert _post(client, "/api/cypher", body, Origin="http://localhost:8080").status_code == 403
    assert _post(client, "/api/cypher", body, Origin="http://localhost").status_code == 200
    assert _post(client, "/api/cypher", body, Origin="http://localhost:80").status_code == 200
    assert _post(client, "/api/cypher", body, Origin="HTTP://LOCALHOST").status_code == 200
    for origin in ("http://localhost:0", "http://localhost/path", "http://user@localhost", "localhost",
                   "http://localhost:99999", "http://[::1", "http://local host", "null"):
        refused = _post(client, "/api/cypher", body, Origin=origin)
        assert refused.status_code == 403 and "cross-site request refused" in refused.get_json()["error"], origin


MALFORMED = [
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": 1e400}', "max_rows: numbers must be finite"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": -1e400}', "max_rows: numbers must be finite"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": NaN}', "not a JSON number"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": Infinity}', "not a JSON number"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": true}', "max_rows must be an integer"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": 2.5}', "max_rows must be an integer"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": "lots"}', "max_rows must be an integer"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": [1]}', "max_rows must be an integer"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": ' + "9" * 30 + "}", "max_rows: the integer 9"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": ' + "9" * 5000 + "}", "out of range (64 bits)"),
    ("/api/cypher", '{"query": "RETURN $x", "params": {"x": [1, ' + str(2 ** 63) + ']}}', "params.x[1]: the integer"),
    ("/api/cypher", "[" * 100_000, "nested deeper"),
    ("/api/cypher", "{" * 100_000, "not valid JSON"),
    ("/api/cypher", '{"query": "RETURN 1", "params": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}", "nested deeper"),
    ("/api/cypher", '{"query": "RETURN \\ud800"}', "query: a lone UTF-16 surrogate"),
    ("/api/cypher", '{"query": "RETURN 1", "params": {"\\udfff": 1}}', "surrogate"),
    ("/api/cypher", '{"query": ["RETURN 1"]}', "give a Cypher query"),
    ("/api/cypher", '{"query": "RETURN 1", "params": [1]}', "parameters must be a JSON object"),
    ("/api/cypher", "[1, 2]", "JSON object"),
    ("/api/cypher", "null", "JSON object"),
    ("/api/cypher", '"RETURN 1"', "JSON object"),
    ("/api/cypher", "", "not valid JSON"),
    ("/api/cypher", "not json", "not valid JSON"),
    ("/api/feedback", "[" * 100_000, "nested deeper"),
    ("/api/feedback", '{"event": "open", "search_id": ' + str(10 ** 23) + ', "node_id": "x"}',
     "search_id: the integer 1"),
    ("/api/feedback", '{"event": "open", "search_id": -5, "node_id": "x"}', "no search has id"),
    ("/api/feedback", '{"event": "open", "search_id": 1, "node_id": {"a": 1}}', '"node_id"'),
    ("/api/feedback", '{"event": "open", "node_id": "x"}', "search_id"),
    ("/api/feedback", '{"event": "search", "query": {"a": 1}, "results": ["x"]}', '"query"'),
    ("/api/feedback", '{"event": "search", "query": "\\ud800", "results": ["x"]}', "surrogate"),
    ("/api/feedback", '{"event": "search", "query": "q", "results": "x"}', '"results"'),
    ("/api/feedback", '{"event": "dwell", "open_id": {}, "dwell_ms": 1}', "open_id must be an integer"),
    ("/api/feedback", '{"event": "dwell", "open_id": 1, "dwell_ms": 1e400}', "dwell_ms: numbers must be finite"),
    ("/api/feedback", '{"event": 7}', "event"),
]


@pytest.mark.parametrize("url,body,message", MALFORMED)
def test_malformed_bodies_get_the_4xx_error_shape(client: Any, url: str, body: str, message: str) -> None:
    response = _post(client, url, body)
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    data = response.get_json()
    assert data == {"ok": False, "error": data["error"], "status": 400} and message in data["error"], data


def test_invalid_utf8_body_is_a_400(client: Any) -> None:
    for url in ("/api/cypher", "/api/feedback"):
        response = _post(client, url, b'{"query": "RETURN \xff"}')
        assert response.status_code == 400 and "UTF-8" in response.get_json()["error"]


def test_a_huge_body_is_a_413_in_the_error_shape(client: Any) -> None:
    for url in ("/api/cypher", "/api/feedback"):
        response = _post(client, url, "[" + "1," * (1 << 20) + "1]")
        assert response.status_code == 413 and response.get_json()["status"] == 413


def test_huge_integers_in_a_body_are_clamped_where_they_are_caps(client: Any) -> None:
    capped = _post(client, "/api/cypher", json.dumps({"query": "UNWIND range(1, 100) AS i RETURN i",
                                                      "max_rows": 2 ** 63 - 1}))
    assert capped.status_code == 200 and capped.get_json()["row_cap"] == 50  # the settings' KG_MAX_ROWS
    one = _post(client, "/api/cypher", json.dumps({"query": "UNWIND range(1, 5) AS i RETURN i", "max_rows": -7}))
    assert one.status_code == 200 and one.get_json()["row_cap"] == 1 and one.get_json()["truncated_by"] == "rows"


CONSOLE_GETS = [
    ("params=" + quote("[" * 5000), "nested deeper"),
    ("params=" + quote('{"x": NaN}'), "not a JSON number"),
    ("params=" + quote('{"x": 1e999}'), "x: numbers must be finite"),
    ("params=" + quote('{"x": 99999999999999999999}'), "x: the integer"),
    ("params=" + quote('{"x": "\\ud800"}'), "surrogate"),
    ("max_rows=1e400", "max_rows must be an integer"),
    ("max_rows=" + "9" * 5000, "max_rows must be an integer"),
]


@pytest.mark.parametrize("arg,message", CONSOLE_GETS)
def test_malformed_console_arguments_get_the_4xx_error_shape(client: Any, arg: str, message: str) -> None:
    response = client.get(f"/console?format=json&query=RETURN+1&{arg}")
    data = response.get_json()
    assert response.status_code == 400 and data["status"] == 400 and message in data["error"], data
    page = client.get(f"/console?query=RETURN+1&{arg}")
    assert page.status_code == 400 and 'data-kind="ConfigError"' in page.get_data(as_text=True)


@pytest.mark.parametrize("url,field", [
    ("/api/search?q=x&k=", "k"), ("/api/node/note:vault/Home.md/neighbours?depth=", "depth"),
    ("/api/export/triplets?negatives=", "negatives")])
def test_integer_arguments_are_clamped_or_refused_by_name(client: Any, url: str, field: str) -> None:
    for bad in ("1e400", "NaN", "2.5", "x", "9" * 5000, "%00"):
        response = client.get(url + bad)
        assert response.status_code == 400 and f"?{field}= must be an integer" in response.get_json()["error"]
    for huge in ("9" * 40, "-" + "9" * 40, "0"):
        assert client.get(url + huge).status_code == 200, huge


def test_console_answers_stop_at_the_byte_cap(client: Any, app: Any) -> None:
    from web.services import services

    with app.app_context():
        svc = services()
        svc.settings = svc.settings.with_(max_result_bytes=200_000)
    response = _post(client, "/api/cypher", json.dumps({"query": "UNWIND range(1, 1000) AS x RETURN x, range(1, 10000)"}))
    data = response.get_json()
    assert response.status_code == 200 and data["truncated_by"] == "bytes"
    assert data["notice"].startswith("Stopped at the byte cap of 0.2 MB: only the first ")
    assert "KG_MAX_RESULT_BYTES is 200000" in data["notice"]
    assert 0 < len(data["rows"]) < 1000 and len(json.dumps(data["rows"], separators=(",", ":"))) <= 200_000
    rows = _post(client, "/api/cypher", json.dumps({"query": "UNWIND range(1, 100) AS i RETURN i"})).get_json()
    assert rows["truncated_by"] == "rows"
    assert rows["notice"].startswith("Stopped at the row cap: only the first 50 rows")
    whole = _post(client, "/api/cypher", json.dumps({"query": "RETURN 1 AS x"})).get_json()
    assert whole["truncated_by"] == "" and whole["truncated"] is False and whole["notice"] == ""


def test_the_console_page_names_the_byte_cap(client: Any, app: Any) -> None:
    from web.services import services

    with app.app_context():
        services().settings = services().settings.with_(max_result_bytes=200_000)
    html = client.get("/console?query=" + quote("UNWIND range(1, 1000) AS x RETURN x, range(1, 10000)")).data.decode()
    assert "Stopped at the byte cap of 0.2 MB" in html and "0.2 MB answer cap" in html
