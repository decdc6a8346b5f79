"""HTTP helpers shared by the blueprints: JSON twins, one error shape, bounded inputs.

Every HTML page has a JSON twin: the same URL with ``?format=json`` (or the ``/api``
route). Errors are one JSON shape ``{"ok": false, "error": ..., "status": ...}`` for API
and JSON requests, and one HTML page for the rest.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any
from urllib.parse import quote

from flask import Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, SecurityError, UnsupportedMediaType

from kg.errors import ConfigError, KgError

log = logging.getLogger(__name__)

MAX_K = 100
MAX_QUERY_CHARS = 500
MAX_JSON_DEPTH = 32  # arrays and objects in a body or in ?params=; real ones nest a few levels
INT64 = 2 ** 63  # the stores' integers (SQLite, LadybugDB, Neo4j) are signed 64-bit
MAX_INT_DIGITS = 100  # longer integers are refused while parsing (int() of them is costly);
# shorter ones beyond 64 bits by _check_bounds, whose message names the field


def node_url(node_id: str, **params: Any) -> str:
    """The page of a node. Ids hold '/', ':', '#', '?': everything but '/' and ':' is encoded."""
    url = "/node/" + quote(node_id, safe="/:")
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items() if v is not None)
    return f"{url}?{query}" if query else url


def wants_json() -> bool:
    """API routes, ``?format=json`` and clients that prefer JSON get JSON."""
    if request.path.startswith("/api/") or request.args.get("format") == "json":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def page(template: str, data: dict[str, Any], **html_only: Any) -> Response | str:
    """Render ``template`` with ``data``, or return ``data`` as JSON for the JSON twin."""
    if wants_json():
        return jsonify({"ok": True, **data})
    return render_template(template, **{**data, **html_only})


def error_response(status: int, message: str) -> tuple[Response | str, int]:
    """The one error shape, as JSON or as the error page."""
    if wants_json():
        return jsonify({"ok": False, "error": message, "status": status}), status
    return render_template("error.html", status=status, error=message), status


def handle_kg_error(exc: KgError) -> tuple[Response | str, int]:
    status = int(getattr(exc, "status", 500))
    if status >= 500:
        log.error("%s %s: %s", request.method, request.path, exc)
    return error_response(status, str(exc))


def handle_http_error(exc: HTTPException) -> tuple[Response | str, int] | Response:
    """An HTTP error (404, 405, 413, 415, ...) in the one error shape."""
    if exc.code is None:  # a RoutingException (e.g. a redirect) is a response already
        return exc.get_response()
    if isinstance(exc, SecurityError):  # an untrusted Host: no page can be built for it
        return jsonify({"ok": False, "error": exc.description, "status": 400}), 400
    response, status = error_response(exc.code, exc.description or exc.name)
    if exc.code == 401 and isinstance(response, Response):
        response.headers["WWW-Authenticate"] = 'Bearer realm="kg"'
    return response, status


def handle_unexpected(exc: Exception) -> tuple[Response | str, int]:
    log.exception("%s %s failed", request.method, request.path)
    return error_response(500, f"internal error ({type(exc).__name__}); the server log has the details")


def json_body() -> dict[str, Any]:
    """The request's JSON object.

    Raises:
        UnsupportedMediaType: the body is not ``application/json``.
        ConfigError: it is not a JSON object.
    """
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    data = load_json(request.get_data(), "the body")
    if not isinstance(data, dict):
        raise ConfigError("the body must be a JSON object")
    return data


def load_json(raw: str | bytes, what: str) -> Any:
    """JSON from a client, bounded: nesting at most MAX_JSON_DEPTH, integers within 64 bits,
    finite numbers only (no NaN, Infinity or 1e400), text that is valid Unicode.

    A document nested too deeply for the parser's stack is refused as one nested too
    deeply (RecursionError); the bounds are then checked without recursion, so nothing
    that walks the value later (the stores, ``jsonify``) can overflow either.

    Raises:
        ConfigError: it is not such JSON (the message names ``what``, the field and the problem).
    """
    def no_constant(name: str) -> Any:
        raise ConfigError(f"{what}: {name} is not a JSON number (numbers must be finite)")

    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(text, parse_constant=no_constant, parse_int=_bounded_int)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} is not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:
        raise ConfigError(f"{what} is not valid JSON: {exc}") from exc
    _check_bounds(data, what)
    return data


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:  # before int(): its cost grows with the digits
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits is out of range (64 bits)")
    return int(text)


def _check_bounds(data: Any, what: str) -> None:
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        value, depth, path = stack.pop()
        where = f"{what}: {path.lstrip('.')}" if path else what
        if depth > MAX_JSON_DEPTH:
            raise ConfigError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and not -INT64 <= value < INT64:
            raise ConfigError(f"{where}: the integer {str(value)[:20]}... is out of range (64 bits)")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where}: numbers must be finite")
        if isinstance(value, str) and not _is_unicode(value):
            raise ConfigError(f"{where}: a lone UTF-16 surrogate (\\ud800-\\udfff) is not text")
        if isinstance(value, dict):
            for key, item in value.items():
                if not _is_unicode(key):
                    raise ConfigError(f"{where}: a key holds a lone UTF-16 surrogate")
                stack.append((item, depth + 1, f"{path}.{key}"))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, f"{path}[{i}]") for i, item in enumerate(value))


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def int_value(value: Any, name: str, low: int, high: int) -> int:
    """An integer from a JSON body, clamped to [low, high].

    Raises:
        ConfigError: it is not an integer (a bool, a fraction, text that is not a number).
    """
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ConfigError(f"{name} must be an integer, not {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(f"{name} must be an integer, not {str(value)[:40]!r}") from exc
    return max(low, min(high, number))


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """An integer query argument, clamped to [low, high].

    Raises:
        ConfigError: it is not an integer.
    """
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"?{name}= must be an integer, not {raw!r}") from exc
    return max(low, min(high, value))


def bool_arg(name: str) -> bool:
    """A yes/no query argument: ``1``, ``true``, ``yes`` or ``on`` (any case) is yes; absent is no.

    Raises:
        ConfigError: any other value.
    """
    raw = (request.args.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"?{name}= must be 1 or 0 (true or false), not {raw!r}")


def list_arg(name: str) -> list[str]:
    """A repeatable or comma-separated query argument (``?kind=Note&kind=Heading``, ``?kind=Note,Heading``)."""
    values: list[str] = []
    for raw in request.args.getlist(name):
        values += [v.strip() for v in raw.split(",") if v.strip()]
    return list(dict.fromkeys(values))


def json_twin_url() -> str:
    """This page's URL with ``format=json``: the link to its JSON twin."""
    return url_with(format="json")


def url_with(path: str | None = None, **changes: Any) -> str:
    """This request's URL (or ``path`` with its arguments) with some arguments replaced, and
    without the ones that only make sense once (``partial``, ``from``, ``pos``)."""
    drop = {"format", "partial", "from", "pos", *changes}
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in drop]
    args += [(k, str(v)) for k, v in changes.items() if v is not None]
    return (path or request.path) + "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in args)


def graph_changed() -> dict[str, str] | None:
    """When this server last changed the graph (an ingest through it, or the watcher), for the
    page header: ``{"time": "14:03:07", "iso": ...}``; None before the first change."""
    import datetime

    from web.services import services

    at = services().changed_at
    if at is None:
        return None
    moment = datetime.datetime.fromtimestamp(at).astimezone()
    return {"time": moment.strftime("%H:%M:%S"), "iso": moment.isoformat(timespec="seconds")}


def open_links(item: Any) -> list[dict[str, str]]:
    """Where a result or node opens outside kg: "Obsidian" for vault nodes
    (``obsidian://open?vault=…&file=…``, the vault named by its root folder) and "editor" for
    everything with a file (``KG_EDITOR_URL``). Each ``{"label", "href"}``; none for a node
    outside the ingested roots."""
    from kg.model import VAULT_SOURCES
    from web.services import services

    get = item.get if isinstance(item, dict) else lambda key, default=None: getattr(item, key, default)
    kind = str(getattr(get("kind"), "value", get("kind")))
    svc = services()
    folder = svc.roots().get(get("root") or "")
    path = get("path") or ""
    if folder is None or not path:
        return []
    links = []
    if kind in {k.value for k in VAULT_SOURCES}:
        links.append({"label": "Obsidian",
                      "href": f"obsidian://open?vault={quote(folder.name, safe='')}&file={quote(path, safe='')}"})
    template = svc.settings.editor_url
    if template:
        line = get("line") or get("start_line") or 1
        absolute = (folder / path).as_posix()
        absolute = absolute if absolute.startswith("/") else "/" + absolute  # C:/x → /C:/x
        links.append({"label": "editor", "href": template.replace("{path}", quote(absolute, safe="/:"))
                      .replace("{line}", str(line))})
    return links
