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


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_cross_site_get_runs_no_console_query(client: Any, tmp_path: Path, site: str) -> None:
    target = tmp_path / "written.csv"
    for fmt in ("json", "html"):
        response = client.get(f"/console?format={fmt}&query={quote(_copy_to(target))}",
                              headers={**CROSS, "Sec-Fetch-Site": site})
        assert response.status_code == 403
        body = response.get_data(as_text=True)
        assert "cross-site request refused" in body
        if fmt == "html":
            assert "open /console and run it there" in body
    assert not target.exists()


def test_a_cross_site_get_of_the_json_api_is_refused(client: Any) -> None:
    for url in ("/api/search?q=retry", "/api/export/graph", "/?q=retry&format=json"):
        response = client.get(url, headers=CROSS)
        assert response.status_code == 403, url
        assert response.get_json() == {"ok": False, "status": 403, "error": response.get_json()["error"]}


def test_navigation_and_same_origin_still_work(client: Any) -> None:
    assert client.get("/console", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}).status_code == 200
    query = quote("MATCH (n:Note) RETURN count(n) AS c")
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {}):
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


MALFORMED = [
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": 1e400}', "finite"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": NaN}', "not a JSON number"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": true}', "max_rows must be an integer"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": 2.5}', "max_rows must be an integer"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": "lots"}', "max_rows must be an integer"),
    ("/api/cypher", '{"query": "RETURN 1", "max_rows": ' + "9" * 30 + "}", "out of range"),
    ("/api/cypher", "[" * 100_000, "nested deeper"),
    ("/api/cypher", '{"query": "RETURN 1", "params": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}", "nested deeper"),
    ("/api/cypher", '{"query": ["RETURN 1"]}', "give a Cypher query"),
    ("/api/cypher", "[1, 2]", "JSON object"),
    ("/api/cypher", "not json", "not valid JSON"),
    ("/api/feedback", "[" * 100_000, "nested deeper"),
    ("/api/feedback", '{"event": "open", "search_id": ' + str(10 ** 23) + ', "node_id": "x"}', "out of range"),
    ("/api/feedback", '{"event": "open", "search_id": -5, "node_id": "x"}', ""),
    ("/api/feedback", '{"event": "dwell", "open_id": {}, "dwell_ms": 1}', "open_id must be an integer"),
    ("/api/feedback", '{"event": 7}', "event"),
]


@pytest.mark.parametrize("url,body,message", MALFORMED)
def test_malformed_bodies_get_the_4xx_error_shape(client: Any, url: str, body: str, message: str) -> None:
    response = _post(client, url, body)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:200]
    data = response.get_json()
    assert data["ok"] is False and data["status"] == response.status_code and message in data["error"]


def test_invalid_utf8_body_is_a_400(client: Any) -> None:
    response = _post(client, "/api/cypher", b'{"query": "RETURN \xff"}')
    assert response.status_code == 400 and "UTF-8" in response.get_json()["error"]


def test_console_answers_stop_at_the_byte_cap(client: Any, app: Any) -> None:
    from web.services import services

    with app.app_context():
        svc = services()
        svc.settings = svc.settings.with_(max_result_bytes=200_000)
    response = _post(client, "/api/cypher", json.dumps({"query": "UNWIND range(1, 1000) AS x RETURN x, range(1, 10000)"}))
    data = response.get_json()
    assert response.status_code == 200 and data["truncated_by"] == "bytes"
    assert "byte cap" in data["notice"] and len(json.dumps(data["rows"], separators=(",", ":"))) <= 200_000
