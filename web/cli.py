"""``kg serve``: the web UI and JSON API (registered by ``kg/cli.py`` from ``web.cli``; part of the composition root)."""

from __future__ import annotations

import logging

import click

from kg.settings import Settings

log = logging.getLogger(__name__)


@click.command()
@click.option("--host", default=None, help="Address to bind (default: $KG_HOST, then 127.0.0.1). "
              "Anything but loopback needs $KG_TOKEN.")
@click.option("--port", type=int, default=None, help="Port (default: $KG_PORT, then 5000; 0 picks a free one).")
@click.option("--threads/--no-threads", default=True, show_default=True, help="Serve requests in threads.")
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, threads: bool) -> None:
    """Serve the web UI and the JSON API over the graph (read-only)."""
    from werkzeug.serving import make_server

    from web import close_app, create_app

    settings = settings.with_(host=host or settings.host, port=settings.port if port is None else port)
    app = create_app(settings)  # refuses a non-loopback host without a token (ConfigError)
    server = make_server(settings.host, settings.port, app, threaded=threads)
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    click.echo(f"kg: serving {settings.db} on http://{shown}:{server.server_port}/"
               + (" (token required)" if settings.token else "") + " — Ctrl+C stops", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        close_app(app)


COMMANDS = [serve]
