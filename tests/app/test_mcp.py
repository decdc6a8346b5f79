"""kg for coding agents: the official MCP SDK client drives `kg mcp` over stdio, `kg serve`'s
/mcp over streamable HTTP (both protocol eras), and `kg mcp` relaying to a running server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.app.test_live import ENV, FIXTURE_VAULT, kg
from tests.support.waiting import wait_for

mcp = pytest.importorskip("mcp")
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402

TOOLS = {"search", "node", "neighbours", "callers", "callees", "backlinks", "cypher"}
CALLS = [  # (what the answer is kept as, tool, arguments)
    ("search", "search", {"query": "retry with exponential backoff", "k": 5}),
    ("search_scripts", "search", {"query": "retry with exponential backoff", "k": 5, "paths": ["scripts/"]}),
    ("node", "node", {"ref": "retry_with_backoff"}),
    ("ambiguous", "node", {"ref": "Meeting"}),  # two notes
    ("missing", "node", {"ref": "no such node anywhere"}),
    ("callers", "callers", {"ref": "Backoff"}),
    ("callers_guesses", "callers", {"ref": "Backoff", "include_guesses": True}),
    ("callees", "callees", {"ref": "retry_with_backoff"}),
    ("backlinks", "backlinks", {"ref": "Retry and Backoff.md"}),
    ("neighbours", "neighbours", {"ref": "Retry and Backoff.md", "depth": 1, "edge_kinds": ["contains"]}),
    ("cypher", "cypher", {"query": "MATCH (n:Note) RETURN n.name AS name ORDER BY name LIMIT 3"}),
    ("cypher_write", "cypher", {"query": "CREATE (n:Note {id: 'x'}) RETURN n"}),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("mcp")
    vault, db = base / "vault", base / "db"
    shutil.copytree(FIXTURE_VAULT, vault)
    kg(db, "ingest", str(vault), "--name", "vault")
    return db


def stdio(db: Path) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "app.main", "--db", str(db), "mcp"], env=ENV)


def run(make: Any) -> Any:
    """Run a coroutine function to its end on a thread of its own (the browser tests' sync
    Playwright keeps an event loop running on the main thread)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


async def agent_session(client: Client) -> dict[str, Any]:
    """What an agent does in a first session; the answers, for the tests to check."""
    async with client as c:
        tools = (await c.list_tools()).tools
        out: dict[str, Any] = {"protocol": c.protocol_version, "tools": {t.name: t for t in tools}}
        for key, tool, args in CALLS:
            out[key] = await c.call_tool(tool, args)
        templates = (await c.list_resource_templates()).resource_templates
        out["templates"] = [t.uri_template for t in templates]
        read = await c.read_resource("kg://node/" + quote("note:vault/Retry and Backoff.md", safe=""))
        out["resource"] = json.loads(read.contents[0].text)  # type: ignore[union-attr]
        return out


def check_session(out: dict[str, Any]) -> None:
    tools = out["tools"]
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 40, tool.name
        assert tool.input_schema["type"] == "object" and tool.input_schema["properties"], tool.name
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
    assert out["tools"]["search"].input_schema["properties"]["exclude_tests"]["type"] == "boolean"

    def ok(name: str) -> dict[str, Any]:
        result = out[name]
        assert not result.is_error, (name, result.content)
        return result.structured_content  # type: ignore[no-any-return]

    results = ok("search")["results"]
    assert results and results[0]["path"] in ("Retry and Backoff.md", "scripts/backoff.py")
    assert ok("search_scripts")["results"], "the path filter keeps the script"
    assert {r["path"] for r in ok("search_scripts")["results"]} == {"scripts/backoff.py"}
    node = ok("node")
    assert node["node"]["id"].endswith("scripts/backoff.py::retry_with_backoff")
    assert "sleeping between attempts" in node["node"]["text"]
    assert any(group["key"] == "callees" for group in node["relations"])
    assert out["ambiguous"].is_error and "names" in out["ambiguous"].content[0].text, "several nodes are listed"
    assert out["missing"].is_error and "no such node anywhere" in out["missing"].content[0].text
    assert any(i["label"] == "retry_with_backoff" for i in ok("callers")["items"])
    with_guesses = ok("callers_guesses")["items"]  # the resolved callers, then any name-only ones
    assert with_guesses[:len(ok("callers")["items"])] == ok("callers")["items"]
    assert any(i["label"] == "Backoff.delay" for i in ok("callees")["items"])
    assert any(i["path"] == "Link Forms.md" for i in ok("backlinks")["items"])
    hood = ok("neighbours")
    assert hood["center"] == "note:vault/Retry and Backoff.md"
    assert hood["edges"] and {e["kind"] for e in hood["edges"]} == {"CONTAINS"}
    rows = ok("cypher")
    assert rows["columns"] == ["name"] and len(rows["rows"]) == 3
    refused = out["cypher_write"]
    assert refused.is_error and "only reads" in refused.content[0].text
    assert out["templates"] == ["kg://node/{node_id}"]
    assert out["resource"]["node"]["path"] == "Retry and Backoff.md"


def test_an_agent_over_stdio(db: Path) -> None:
    check_session(run(lambda: agent_session(Client(stdio(db)))))


def test_a_bare_note_name_opens_the_note_not_its_own_title_heading(db: Path) -> None:
    async def go() -> Any:
        async with Client(stdio(db)) as c:
            return await c.call_tool("node", {"ref": "Retry and Backoff"})

    result = run(go)
    assert not result.is_error, result.content
    assert result.structured_content["node"]["id"] == "note:vault/Retry and Backoff.md"


@pytest.fixture(scope="module")
def served(db: Path) -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-m", "app.main", "--db", str(db), "serve", "--port", "0"],
                               env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        info = wait_for(lambda: (db / "server.json").exists() and json.loads((db / "server.json").read_text()), 60)
        assert info, "the server file never appeared"
        yield info["url"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_an_agent_over_http(served: str, mode: str) -> None:
    out = run(lambda: agent_session(Client(served + "mcp", mode=mode)))
    check_session(out)
    assert out["protocol"] == ("2026-07-28" if mode == "auto" else "2025-11-25")


def test_kg_mcp_relays_to_the_server_that_owns_the_database(served: str, db: Path) -> None:
    check_session(run(lambda: agent_session(Client(stdio(db)))))


def test_another_site_cannot_use_the_endpoint(served: str) -> None:
    ping = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    for headers, status in (({"Origin": "http://evil.example"}, 403), ({"Sec-Fetch-Site": "cross-site"}, 403),
                            ({"Content-Type": "text/plain"}, 415)):
        request = urllib.request.Request(served + "mcp", data=ping, method="POST", headers={
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
        refused.value.close()
        assert refused.value.code == status, headers
