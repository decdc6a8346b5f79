"""CLI commands run by the server that owns the database.

While ``kg serve`` runs, it is the only process that writes the database. It announces
itself in ``Layout.server`` (``server.json``: address, token, pid; readable by its user
only). A CLI command that uses the database finds that file, checks that the server is
alive, and sends its own arguments there (``forward``). The server runs the very same
click command over its own workspace (``run``), so nothing loads twice and the output is
what the command prints when run directly; it streams back line by line as NDJSON
(``{"out": text}``, ``{"err": text}``, finally ``{"exit": code}``).

Only the commands in ``app.main.FORWARDED`` are accepted, only with the file's token, and
never from a browser (a request with ``Origin`` or ``Sec-Fetch-*`` headers is refused).
Relative paths in the arguments are taken relative to the client's working folder
(``kg.commands.common.ClientPath``).
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import os
import queue
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kg.commands.common import CLIENT_CWD
from kg.errors import ConfigError
from kg.layout import Layout

log = logging.getLogger(__name__)

PATH = "/api/cli"
CONNECT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class ServerFile:
    """What a running server wrote about itself."""

    url: str
    token: str
    pid: int
    db: str
    started: float

    def alive(self) -> bool:
        """The process still runs (a file left by a killed server is stale)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process holds the pid: not our server
            return False
        return True


def announce(layout: Layout, url: str, token: str) -> ServerFile:
    """Write the server file (owner-only permissions) and return what it says."""
    info = ServerFile(url=url, token=token, pid=os.getpid(), db=str(layout.root.resolve()), started=time.time())
    layout.root.mkdir(parents=True, exist_ok=True)
    tmp = layout.server.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(info.__dict__, out)
    os.replace(tmp, layout.server)
    return info


def withdraw(layout: Layout, info: ServerFile) -> None:
    """Remove the server file if it is still this server's."""
    current = read(layout)
    if current is not None and current.pid == info.pid and current.started == info.started:
        layout.server.unlink(missing_ok=True)


def read(layout: Layout) -> ServerFile | None:
    """The server file as written, or None when there is none or it is unreadable."""
    try:
        data = json.loads(layout.server.read_text(encoding="utf-8"))
        return ServerFile(url=str(data["url"]), token=str(data["token"]), pid=int(data["pid"]),
                          db=str(data["db"]), started=float(data["started"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the unreadable server file %s: %s", layout.server, exc)
        return None


def find(layout: Layout) -> ServerFile | None:
    """The live server that owns this database, if one runs; a stale file is removed."""
    info = read(layout)
    if info is None:
        return None
    if not info.alive():
        log.info("removing the stale server file %s (pid %d is gone)", layout.server, info.pid)
        layout.server.unlink(missing_ok=True)
        return None
    return info


def new_token(configured: str) -> str:
    """The token the server file carries: the configured one, else a fresh random one."""
    return configured or secrets.token_urlsafe(24)


# -- the client ------------------------------------------------------------------------------


def forward(server: ServerFile, args: list[str]) -> int:
    """Run a command's arguments on the server, printing what it prints; its exit code.

    Raises:
        ConfigError: the server does not answer (it may be starting or hung), or refuses.
    """
    import http.client  # only a forwarded command needs it

    url = urlsplit(server.url)
    body = json.dumps({"args": args, "cwd": os.getcwd()})
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=CONNECT_TIMEOUT_S)
    try:
        conn.connect()
        conn.sock.settimeout(None)  # a long command (an ingest, training) may print nothing for minutes
        conn.request("POST", PATH, body=body, headers={"Content-Type": "application/json",
                                                      "Authorization": f"Bearer {server.token}"})
        response = conn.getresponse()
    except OSError as exc:
        conn.close()
        raise ConfigError(f"a kg server (pid {server.pid}) owns {server.db} but does not answer at "
                          f"{server.url} ({exc}); wait for it, or stop it") from exc
    try:
        if response.status != 200:
            detail = response.read().decode("utf-8", "replace")[:500]
            raise ConfigError(f"the kg server at {server.url} (pid {server.pid}) refused the command: "
                              f"{response.status} {detail}")
        return _relay(response)
    finally:
        conn.close()


def _relay(lines: Iterable[bytes]) -> int:
    """Print a forwarded command's events; its exit code (1 if the stream broke off)."""
    code = 1
    for line in lines:
        event = json.loads(line)
        if "out" in event:
            sys.stdout.write(event["out"])
            sys.stdout.flush()
        elif "err" in event:
            sys.stderr.write(event["err"])
            sys.stderr.flush()
        elif "exit" in event:
            code = int(event["exit"])
    return code


# -- the server ------------------------------------------------------------------------------


class _Routed(io.TextIOBase):
    """sys.stdout or sys.stderr: a thread that runs a forwarded command writes to its own
    sink; every other thread writes to the real stream."""

    def __init__(self, real: Any, name: str) -> None:
        self.real, self.name = real, name
        self.sinks = threading.local()

    def _sink(self) -> Callable[[str, str], None] | None:
        return getattr(self.sinks, "sink", None)

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("write() argument must be str")
        sink = self._sink()
        if sink is None:
            return int(self.real.write(text))
        sink(self.name, text)
        return len(text)

    def flush(self) -> None:
        if self._sink() is None:
            self.real.flush()

    def isatty(self) -> bool:
        return False if self._sink() is not None else bool(self.real.isatty())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8" if self._sink() is not None else str(getattr(self.real, "encoding", "utf-8"))

    def fileno(self) -> int:
        if self._sink() is not None:
            raise io.UnsupportedOperation("a forwarded command has no file descriptor")
        return int(self.real.fileno())


_route_lock = threading.Lock()


def _routes() -> tuple[_Routed, _Routed]:
    """Install the routing streams once per process."""
    with _route_lock:
        if not isinstance(sys.stdout, _Routed):
            sys.stdout = _Routed(sys.stdout, "out")
        if not isinstance(sys.stderr, _Routed):
            sys.stderr = _Routed(sys.stderr, "err")
        return sys.stdout, sys.stderr  # type: ignore[return-value]


def run(workspace: Any, args: list[str], cwd: str) -> Iterator[dict[str, Any]]:
    """Run ``kg ARGS`` over ``workspace`` in a thread; yield its output as it comes, then its exit code."""
    from app.main import FORWARDED

    if not args or args[0] not in FORWARDED:
        yield {"err": f"Error: the server runs only {', '.join(sorted(FORWARDED))}, not {args[:1]}\n"}
        yield {"exit": 2}
        return
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    out, err = _routes()

    def sink(name: str, text: str) -> None:
        events.put({name: text})

    def work() -> None:
        out.sinks.sink = err.sinks.sink = sink
        token = CLIENT_CWD.set(Path(cwd))
        try:
            events.put({"exit": _invoke(workspace, args)})
        finally:
            CLIENT_CWD.reset(token)
            out.sinks.sink = err.sinks.sink = None

    threading.Thread(target=work, name=f"kg {args[0]}", daemon=True).start()
    while True:
        event = events.get()
        yield event
        if "exit" in event:
            return


def _invoke(workspace: Any, args: list[str]) -> int:
    """The exit code of ``kg ARGS``, with click's own messages for usage errors."""
    import click

    from app.main import main

    try:
        result = main.main(args=list(args), prog_name="kg", standalone_mode=False, obj=workspace)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except Exception:  # a bug in a command must not kill the server; the client sees it
        log.exception("forwarded command %s failed", args)
        click.echo(f"Error: the server failed to run `kg {' '.join(args)}`; see its log", err=True)
        return 1


def blueprint(workspace: Any, token: str) -> Any:
    """The Flask blueprint that runs forwarded commands (registered by ``app.serve``)."""
    from flask import Blueprint, Response, request
    from werkzeug.exceptions import BadRequest, Forbidden, Unauthorized

    bp = Blueprint("remote", __name__)

    @bp.post(PATH)
    def run_command() -> Response:
        if request.headers.get("Origin") is not None or any(h.lower().startswith("sec-fetch-") for h in request.headers.keys()):
            raise Forbidden("forwarded commands come from the kg CLI, never from a browser")
        given = request.headers.get("Authorization", "")
        if not (given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode())):
            raise Unauthorized("forwarded commands need the token of the server file")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("args"), list) \
                or not all(isinstance(a, str) for a in body["args"]) or not isinstance(body.get("cwd"), str):
            raise BadRequest('send {"args": [strings], "cwd": "folder"}')
        lines = (json.dumps(event, ensure_ascii=False) + "\n" for event in run(workspace, body["args"], body["cwd"]))
        return Response(lines, mimetype="application/x-ndjson")

    return bp
