"""Property tests of the JSON API: any JSON body, any query string, never a 5xx, and every 4xx
in the one error shape."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
BODY = st.dictionaries(st.sampled_from(["query", "params", "max_rows", "event", "search_id", "node_id",
                                        "results", "position", "dwell_ms", "open_id"]), JSON, max_size=5) | JSON
ARGS = st.dictionaries(st.sampled_from(["q", "k", "kind", "root", "tag", "depth", "edge", "format", "split", "limit"]),
                       st.text(max_size=30), max_size=4)
SETTINGS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _well_formed(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        data = response.get_json()
        assert data["ok"] is False and data["status"] == response.status_code and data["error"]


def test_any_json_body(client: Any) -> None:
    @given(url=st.sampled_from(["/api/cypher", "/api/feedback"]), body=BODY)
    @SETTINGS
    def check(url: str, body: Any) -> None:
        _well_formed(client.post(url, data=json.dumps(body), content_type="application/json"))

    check()


def test_any_query_string(client: Any) -> None:
    @given(url=st.sampled_from(["/api/search", "/api/node/note:vault/Home.md", "/api/node/note:vault/Home.md/neighbours",
                                "/api/export/graph", "/api/export/triplets"]), args=ARGS)
    @SETTINGS
    def check(url: str, args: dict[str, str]) -> None:
        _well_formed(client.get(url, query_string=args))

    check()
