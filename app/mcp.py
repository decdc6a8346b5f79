"""kg for coding agents: a Model Context Protocol server over one workspace.

``kg mcp`` speaks MCP over stdio; ``kg serve`` also answers it over streamable HTTP at
``/mcp``, behind the same token and cross-site checks as the rest of the server
(``web.security``). When a server owns the database, ``kg mcp`` relays to that server's
``/mcp`` instead of opening the store (one process owns a database, ``app.remote``).

Tools (all read-only): ``search``, ``node``, ``neighbours``, ``callers``, ``callees``,
``backlinks`` and ``cypher`` (behind the store's one read-only guard, as the console). Nodes
are also resources, ``kg://node/{id}`` (the id percent-encoded).
"""

# No `from __future__ import annotations`: the SDK reads the tools' annotations, which name local objects.

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

import click

from app.workspace import Workspace
from kg import __version__
from kg.commands.graph import find_node
from kg.errors import KgError
from kg.model import EdgeKind

log = logging.getLogger(__name__)

NAME = "kg"
PATH = "/mcp"
MAX_DEPTH = 2
MAX_NEIGHBOURS = 300
MAX_TEXT_CHARS = 4_000
MAX_K = 50
NODE_URI = "kg://node/{node_id}"

INSTRUCTIONS = """kg is a knowledge graph over an Obsidian vault and the code repositories beside it:
notes, headings, blocks and tags; files, classes and functions; and the links, embeds, imports,
calls, inheritance and mentions between them.

Start with `search` (hybrid BM25 + vectors + graph expansion; each result says why it is there).
Then `node` for one node's text and relations, `callers`/`callees` for code, `backlinks` for what
links to a note or definition, `neighbours` for the graph around a node, and `cypher` for
anything else (read-only; node labels Note, Heading, Block, Tag, File, Class, Function,
Attachment, Unresolved; relationships CONTAINS, LINKS_TO, EMBEDS, TAGGED, TAG_PARENT, IMPORTS,
CALLS, INHERITS, MENTIONS). A node can be named by its id (`def:src/app.py::App.run`), the id
without its prefix, a path, `path::qualname`, or a bare name."""

class Tools:
    """What the MCP tools do, over a workspace: plain dicts in, plain dicts out."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def search(self, query: str, k: int = 10, kinds: list[str] | None = None, roots: list[str] | None = None,
               paths: list[str] | None = None, exclude_tests: bool = False) -> dict[str, Any]:
        results = self.ws.searcher().search(query, k=max(1, min(k, MAX_K)), kinds=kinds or None,
                                            roots=roots or None, paths=paths or None, exclude_tests=exclude_tests)
        return {"query": query, "results": [r.to_json() for r in results],
                "note": "" if results else "no good match"}

    def resolve(self, ref: str) -> str:
        """The one node id a reference names (as ``kg show`` finds it).

        Raises:
            KgError: it names no node, or several (they are listed).
        """
        return find_node(self.ws.store(), ref) or ref

    def node(self, ref: str) -> dict[str, Any]:
        from web.nodes import node_json, node_relations

        node, _, _, relations = node_relations(self.ws.store(), self.resolve(ref))
        out = node_json(node)
        out.pop("hash", None)
        if len(node.text) > MAX_TEXT_CHARS:
            out["text"] = node.text[:MAX_TEXT_CHARS] + f"\n… ({len(node.text) - MAX_TEXT_CHARS} more characters)"
        return {"node": out, "relations": relations}

    def relation(self, ref: str, keys: tuple[str, ...], guesses: bool = False) -> dict[str, Any]:
        """The items of some of a node's relations (``web.nodes.RELATIONS`` keys)."""
        from web.nodes import node_relations, summary

        node, _, _, relations = node_relations(self.ws.store(), self.resolve(ref), guesses)
        items = [item for group in relations if group["key"] in keys for item in group["items"]]
        return {"node": summary(node), "items": items, "count": len(items)}

    def neighbours(self, ref: str, depth: int = 1, edge_kinds: list[str] | None = None) -> dict[str, Any]:
        from kg.errors import ConfigError
        from web.nodes import summary

        kinds = None
        if edge_kinds:
            known = {k.value: k for k in EdgeKind}
            unknown = [k for k in edge_kinds if k.upper() not in known]
            if unknown:
                raise ConfigError(f"unknown edge kind(s) {', '.join(unknown)}; use {', '.join(known)}")
            kinds = [known[k.upper()] for k in edge_kinds]
        sub = self.ws.store().neighbourhood(self.resolve(ref), depth=max(1, min(depth, MAX_DEPTH)),
                                            edge_kinds=kinds, limit=MAX_NEIGHBOURS)
        return {"center": sub.center, "nodes": [summary(n) for n in sub.nodes.values()],
                "edges": [{"src": e.src, "kind": e.kind.value, "dst": e.dst} for e in sub.edges],
                "truncated": len(sub.nodes) >= MAX_NEIGHBOURS}

    def cypher(self, query: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        settings = self.ws.settings
        result = self.ws.store().query(query, params or {}, timeout_ms=settings.query_timeout_ms,
                                       max_rows=settings.max_rows, max_bytes=settings.max_result_bytes)
        return {"columns": result.columns, "rows": result.rows, "truncated_by": result.truncated_by,
                "elapsed_ms": round(result.elapsed_ms, 2)}


def build_server(ws: Workspace) -> Any:
    """The MCP server (``mcp.server.MCPServer``) over a workspace."""
    from mcp.server import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError, ToolError
    from mcp.server.mcpserver.resources.templates import ResourceSecurity
    from mcp_types import ToolAnnotations
    from pydantic import Field

    Ref = Annotated[str, Field(description="A node: its id (def:src/app.py::App.run), the id without its prefix, "
                                           "a path (docs/Setup.md), path::qualname, or a bare name.", min_length=1)]
    tools = Tools(ws)
    server = MCPServer(NAME, version=__version__, instructions=INSTRUCTIONS)
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                open_world_hint=False)

    def guarded(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
            try:
                return fn(*args, **kwargs)
            except KgError as exc:  # a bad reference, a refused statement: the agent reads why
                raise ToolError(str(exc)) from exc
        return call

    @server.tool(annotations=read_only)
    def search(query: Annotated[str, Field(description="What to find, as a person would type it: words, "
                                                       "identifiers or a question.", min_length=1, max_length=1000)],
               k: Annotated[int, Field(description="Most results.", ge=1, le=MAX_K)] = 10,
               kinds: Annotated[list[str] | None, Field(description="Keep these kinds: note, heading, block, "
                                                                    "file, class, function, or code, vault.")] = None,
               roots: Annotated[list[str] | None, Field(description="Keep these roots (ingested folders).")] = None,
               paths: Annotated[list[str] | None, Field(description="Keep paths under these folders or matching "
                                                                    "these globs (src/, *.py).")] = None,
               exclude_tests: Annotated[bool, Field(description="Leave out tests, specs and fixtures.")] = False,
               ) -> dict[str, Any]:
        """Hybrid search over notes, sections and code definitions, best first; each result has its
        id, path, line, a snippet and why it matched. Fewer than k results, or none ("no good
        match"), when nothing else fits."""
        return guarded(tools.search)(query, k, kinds, roots, paths, exclude_tests)

    @server.tool(annotations=read_only)
    def node(ref: Ref) -> dict[str, Any]:
        """One node: its properties, text (capped) and relations (contained in, backlinks, links, tags,
        callers, callees, imports, bases, subclasses, mentions, children). A note's relations
        include the links written under its headings."""
        return guarded(tools.node)(ref)

    @server.tool(annotations=read_only)
    def neighbours(ref: Ref,
                   depth: Annotated[int, Field(description="Hops out, either direction.", ge=1, le=MAX_DEPTH)] = 1,
                   edge_kinds: Annotated[list[str] | None, Field(description="Follow only these edge kinds: "
                                                                             + ", ".join(k.value for k in EdgeKind))]
                   = None) -> dict[str, Any]:
        """The graph around a node: nodes (id, kind, label, root, path) and edges (src, kind, dst)."""
        return guarded(tools.neighbours)(ref, depth, edge_kinds)

    @server.tool(annotations=read_only)
    def callers(ref: Ref, include_guesses: Annotated[bool, Field(
            description="Also list calls that only match the name (unresolved: no import, scope or type "
                        "evidence), as 'possible_callers'.")] = False) -> dict[str, Any]:
        """The functions and files that call a function or class (each with the call's line and how
        it was resolved)."""
        keys = ("callers", "possible_callers") if include_guesses else ("callers",)
        return guarded(tools.relation)(ref, keys, include_guesses)

    @server.tool(annotations=read_only)
    def callees(ref: Ref) -> dict[str, Any]:
        """What a function or file calls (each with the call's line and how it was resolved)."""
        return guarded(tools.relation)(ref, ("callees",))

    @server.tool(annotations=read_only)
    def backlinks(ref: Ref) -> dict[str, Any]:
        """The notes and sections that link to, embed or mention a note, section or definition
        (links to a note's headings and blocks count as the note's)."""
        return guarded(tools.relation)(ref, ("backlinks", "mentions"))

    @server.tool(annotations=read_only)
    def cypher(query: Annotated[str, Field(description="One Cypher statement that reads the graph, e.g. "
                                                       "MATCH (f:Function)-[:CALLS]->(g:Function {name: $name}) "
                                                       "RETURN f.id", min_length=1, max_length=20_000)],
               params: Annotated[dict[str, Any] | None, Field(description="Query parameters ($name).")] = None,
               ) -> dict[str, Any]:
        """Run a read-only Cypher query (writes, files, network and extensions are refused by the
        database's own planner); rows stop at the server's row and byte caps."""
        return guarded(tools.cypher)(query, params)

    @server.resource(NODE_URI, name="node", description="A node of the graph as JSON (the node tool's answer).",
                     mime_type="application/json", security=ResourceSecurity(exempt_params={"node_id"}))
    def node_resource(node_id: str) -> str:
        try:
            return json.dumps(tools.node(node_id), default=str)
        except KgError as exc:
            raise ResourceError(str(exc)) from exc

    return server


def node_uri(node_id: str) -> str:
    """The resource URI of a node."""
    return NODE_URI.replace("{node_id}", quote(node_id, safe=""))


async def relay(url: str, token: str) -> None:
    """Serve MCP on stdin/stdout by passing every request on to a running server's ``/mcp``
    (tools, resources and instructions are that server's own)."""
    import httpx2
    import mcp_types as types
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                  timeout=httpx2.Timeout(30.0, read=300.0)) as http, \
            Client(streamable_http_client(url.rstrip("/") + PATH, http_client=http), mode="legacy",
                   cache=None) as remote:
        async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
            return await remote.list_tools()

        async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
            return await remote.call_tool(params.name, params.arguments or {})  # type: ignore[return-value]

        async def list_templates(ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
            return await remote.list_resource_templates()

        async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
            return await remote.list_resources()

        async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
            return await remote.read_resource(params.uri)  # type: ignore[return-value]

        info = remote.server_info
        server: Server[Any] = Server(NAME, version=info.version if info else __version__,
                                     instructions=remote.instructions, on_list_tools=list_tools,
                                     on_call_tool=call_tool, on_list_resources=list_resources,
                                     on_list_resource_templates=list_templates, on_read_resource=read_resource)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


class HttpEndpoint:
    """MCP over streamable HTTP, as a WSGI app for the Flask server: stateless, one JSON answer
    per POST. Its event loop runs in a thread of its own, with the SDK's session manager."""

    def __init__(self, ws: Workspace) -> None:
        from a2wsgi import ASGIMiddleware
        from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
        from mcp.server.transport_security import TransportSecuritySettings

        server = build_server(ws)
        # Host, Origin and token are checked by the Flask app in front (web.security).
        self.manager = StreamableHTTPSessionManager(
            app=server._lowlevel_server, json_response=True, stateless=True,
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="kg mcp", daemon=True)
        self._thread.start()
        self._serving = asyncio.run_coroutine_threadsafe(self._serve(), self.loop)
        self._ready.wait(10)
        self.wsgi = ASGIMiddleware(StreamableHTTPASGIApp(self.manager), loop=self.loop)

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with self.manager.run():
            self._ready.set()
            await self._stop.wait()

    def close(self) -> None:
        """Stop the session manager and its event loop."""
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        try:
            self._serving.result(5)
        except Exception:  # noqa: BLE001 - shutting down: say it, go on closing
            log.exception("the MCP endpoint did not stop cleanly")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self.loop.close()


def blueprint(endpoint: HttpEndpoint) -> Any:
    """The Flask blueprint serving ``endpoint`` at ``/mcp``, behind the app's own checks
    (``web.security``). Only POST: a stateless endpoint has no stream to GET and no session to
    DELETE."""
    from flask import Blueprint, Response, request

    bp = Blueprint("mcp", __name__)

    @bp.post(PATH)
    def mcp() -> Response:
        return Response.from_app(endpoint.wsgi, request.environ)

    return bp


@click.command("mcp")
@click.pass_obj
def mcp_command(ws: Workspace) -> None:
    """Serve the Model Context Protocol on stdin/stdout, for coding agents (see README: MCP).

    When `kg serve` owns the database, requests go through that server (its /mcp).
    """
    from app import remote

    running = remote.find(ws.layout)
    if running is not None:
        click.echo(f"kg mcp: relaying to the server at {running.url} (pid {running.pid})", err=True)
        asyncio.run(relay(running.url, running.token))
        return
    ws.store()  # fail now, with the reason, when there is no graph yet
    build_server(ws).run("stdio")


COMMANDS = [mcp_command]
