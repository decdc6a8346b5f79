"""``kg serve``: the web UI, the JSON API and forwarded CLI commands, over one workspace.

The server owns its database while it runs: it opens the store for writing, announces
itself in the server file (``app.remote``), runs the CLI's commands for it, and with
``--watch`` re-ingests the roots as their files change (``app.watch``).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import click

from app import remote
from app.workspace import Workspace
from kg.errors import ConfigError

log = logging.getLogger(__name__)


def build_app(workspace: Workspace, token: str, mcp_endpoint: Any = None) -> Any:
    """The Flask app over a workspace, with forwarded commands under ``remote.PATH`` and MCP
    at ``app.mcp.PATH``."""
    from web import create_app

    app = create_app(workspace.settings, workspace=workspace)  # refuses a public host without a token
    app.register_blueprint(remote.blueprint(workspace, token))
    if mcp_endpoint is not None:
        from app import mcp

        app.register_blueprint(mcp.blueprint(mcp_endpoint))
    return app


@click.command()
@click.option("--host", default=None, help="Address to bind (default: $KG_HOST, then 127.0.0.1). "
              "Anything but loopback needs $KG_TOKEN.")
@click.option("--port", type=int, default=None, help="Port (default: $KG_PORT, then 5000; 0 picks a free one).")
@click.option("--threads/--no-threads", default=True, show_default=True, help="Serve requests in threads.")
@click.option("--watch", is_flag=True, help="Re-ingest the ingested roots whenever their files change.")
@click.pass_obj
def serve(ws: Workspace, host: str | None, port: int | None, threads: bool, watch: bool) -> None:
    """Serve the web UI and the JSON API; own the database while running (CLI commands on it
    go through this server)."""
    from werkzeug.serving import make_server

    running = remote.find(ws.layout)
    if running is not None:
        raise ConfigError(f"{ws.layout.root} is already served by pid {running.pid} at {running.url}; "
                          "stop that server first (one process owns a database)")
    settings = ws.settings.with_(host=host or ws.settings.host, port=ws.settings.port if port is None else port)
    workspace = Workspace(settings, owner=True)
    token = remote.new_token(settings.token)
    endpoint = None
    try:
        from app.mcp import HttpEndpoint

        endpoint = HttpEndpoint(workspace)
        app = build_app(workspace, token, endpoint)
        workspace.store()  # take ownership now: a second writer fails at once, not at its first write
        server = make_server(settings.host, settings.port, app, threaded=threads)
        shown = f"[{settings.host}]" if ":" in settings.host else settings.host
        url = f"http://{shown}:{server.server_port}/"
        info = remote.announce(ws.layout, url, token)
        _stop_on_sigterm()
        watcher = None
        if watch:
            from app.watch import Watcher

            watcher = Watcher(workspace)
        threading.Thread(target=_warm_up, args=(workspace, watcher), name="kg warm-up", daemon=True).start()
        click.echo(f"kg: serving {settings.db} on {url}" + (" (token required)" if settings.token else "")
                   + (" — watching " + ", ".join(sorted(workspace.roots())) if watch else "")
                   + f" — MCP at {url}mcp — Ctrl+C stops", err=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            if watcher is not None:
                watcher.stop()
            remote.withdraw(ws.layout, info)
            server.server_close()
    finally:
        if endpoint is not None:
            endpoint.close()
        workspace.close()


def _warm_up(workspace: Workspace, watcher: Any) -> None:
    """Load the searcher's view now, so that the first search is as fast as the others; when
    watching, start the watcher and catch up with what changed while no server ran (which
    also fills the pipeline's memory, so that the first edit costs what the others do); then
    load the full model, which embeds an edited note's texts faster than numpy does."""
    try:
        workspace.searcher().search("warm up", k=1)
    except Exception as exc:  # no index yet, no model: the first search says why
        log.info("search not warmed up: %s", exc)
    if watcher is not None:
        _catch_up(workspace, watcher)
    try:
        getattr(workspace.encoder(), "model", None)  # a sentence-transformers encoder loads it now
    except Exception as exc:  # searches go on with the numpy model; the next large sync says why
        log.warning("the model did not load: %s", exc)


def _catch_up(workspace: Workspace, watcher: Any) -> None:
    """Start the watcher, then ingest whatever changed while no server ran."""
    watcher.start()  # first, so that no edit made while catching up is missed
    roots = sorted(workspace.roots().items())
    if roots:
        try:
            from ingest.pipeline import IngestOptions

            report, _ = workspace.ingest(roots, IngestOptions.from_settings(workspace.settings))
            files = report.files
            click.echo(f"kg watch: caught up ({', '.join(f'{k} {files.get(k, 0)}' for k in ('added', 'changed', 'removed'))})",
                       err=True)
        except Exception:  # the watcher goes on; its next batch tries again
            log.exception("catching up with the roots failed")


def _stop_on_sigterm() -> None:
    """SIGTERM stops the server as Ctrl+C does (the server file is withdrawn, the store closed)."""
    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


COMMANDS = [serve]
