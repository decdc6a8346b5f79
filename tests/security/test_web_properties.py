"""Property tests of the JSON API: any JSON body, any bytes, any query string, any fetch
metadata: never a 5xx, and every 4xx in the one error shape."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2 ** 62, max_value=2 ** 70)
           | st.floats() | st.text(max_size=20))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
FIELDS = ["query", "params", "max_rows", "event", "search_id", "node_id", "results", "position", "dwell_ms",
          "open_id"]
EVENTS = st.sampled_from(["search", "open", "dwell"])
BODY = (st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5)
        | st.fixed_dictionaries({"event": EVENTS}, optional={f: JSON for f in FIELDS[4:]})
        | JSON)
# Text that is almost JSON: deep brackets, huge numbers, constants, bad escapes, bad UTF-8.
PIECES = st.sampled_from(['[', ']', '{', '}', '"a":', ',', '1e400', '-1e400', 'NaN', 'Infinity', '"\\ud800"',
                          '9' * 40, '"\\u0000"', 'null', 'true', '"x"', '0', '-0.5', '"\\'])
RAW = (st.lists(PIECES, max_size=40).map(lambda parts: "".join(parts).encode())
       | st.binary(max_size=64)
       | st.integers(1, 5000).map(lambda n: b"[" * n)
       | st.integers(1, 5000).map(lambda n: b'{"query": "RETURN 1", "params": ' + b'{"a":' * n))
ARGS = st.dictionaries(st.sampled_from(["q", "k", "kind", "root", "tag", "depth", "format", "split", "negatives",
                                        "text_only", "partial", "token"]),
                       st.text(max_size=30) | st.sampled_from(["1e400", "-1", "9" * 30, "NaN", "json"]), max_size=4)
HEADERS = {
    "Sec-Fetch-Site": st.sampled_from(["cross-site", "same-site", "same-origin", "none", "bogus"]),
    "Sec-Fetch-Mode": st.sampled_from(["navigate", "cors", "no-cors", "same-origin"]),
    "Sec-Fetch-Dest": st.sampled_from(["document", "iframe", "image", "empty"]),
    "Origin": st.sampled_from(["http://localhost", "https://localhost", "http://localhost:0", "null",
                               "https://evil.example", "http://[::1", "http://localhost:99999"])
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=12),  # what a header can hold
    "Accept": st.sampled_from(["application/json", "text/html", "*/*"]),
}
FETCH = st.fixed_dictionaries({name: st.none() | values for name, values in HEADERS.items()}).map(
    lambda headers: {name: value for name, value in headers.items() if value is not None})
SETTINGS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
GET_URLS = ["/api/search", "/api/node/note:vault/Home.md", "/api/node/note:vault/Home.md/neighbours",
            "/api/export/graph", "/api/export/triplets", "/api/stats", "/", "/stats", "/export", "/console",
            "/node/note:vault/Home.md"]


def _well_formed(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400 and response.mimetype == "application/json":
        data = response.get_json()
        assert data == {"ok": False, "error": data["error"], "status": response.status_code}
        assert isinstance(data["error"], str) and data["error"]


def test_any_json_body(client: Any) -> None:
    @given(url=st.sampled_from(["/api/cypher", "/api/feedback"]), body=BODY)
    @SETTINGS
    def check(url: str, body: Any) -> None:
        response = client.post(url, data=json.dumps(body), content_type="application/json")
        _well_formed(response)
        assert response.status_code == 200 or response.mimetype == "application/json"

    check()


def test_any_bytes_as_a_body(client: Any) -> None:
    @given(url=st.sampled_from(["/api/cypher", "/api/feedback"]), raw=RAW)
    @SETTINGS
    def check(url: str, raw: bytes) -> None:
        response = client.post(url, data=raw, content_type="application/json")
        _well_formed(response)
        assert response.mimetype == "application/json"

    check()


def test_any_query_string(client: Any) -> None:
    @given(url=st.sampled_from(GET_URLS), args=ARGS)
    @SETTINGS
    def check(url: str, args: dict[str, str]) -> None:
        _well_formed(client.get(url, query_string=args))

    check()


def test_any_console_arguments(client: Any) -> None:
    @given(params=st.text(max_size=40) | JSON.map(json.dumps), max_rows=st.text(max_size=12) | st.none(),
           fmt=st.sampled_from(["json", "html"]))
    @settings(SETTINGS, max_examples=30)
    def check(params: str, max_rows: str | None, fmt: str) -> None:
        args = {"query": "RETURN $x AS x", "params": params, "format": fmt}
        if max_rows is not None:
            args["max_rows"] = max_rows
        _well_formed(client.get("/console", query_string=args))

    check()


def test_any_fetch_metadata(client: Any) -> None:
    """Whatever the browser headers say: no 5xx, and a JSON answer to a foreign request is a 403."""
    @given(url=st.sampled_from([*GET_URLS, "/console?query=RETURN+1"]), headers=FETCH)
    @SETTINGS
    def check(url: str, headers: dict[str, str]) -> None:
        response = client.get(url, headers=headers)
        _well_formed(response)
        site, origin = headers.get("Sec-Fetch-Site"), headers.get("Origin")
        foreign = (site not in (None, "same-origin", "none")
                   or origin not in (None, "http://localhost"))
        if foreign and response.mimetype == "application/json":
            assert response.status_code == 403 and "cross-site request refused" in response.get_json()["error"]

    check()
