"""Who may use the server, and what a page may do in the browser.

- Binding: 127.0.0.1 (or another loopback address) by default. Bound elsewhere, the app
  refuses to start without a token (``KG_TOKEN``).
- Token: when one is set, every request must carry it, as ``Authorization: Bearer TOKEN``
  or as the ``kg_token`` cookie, which ``?token=TOKEN`` sets once (then redirects to the
  same URL without it, so the token does not stay in the address bar or in history).
- DNS rebinding: on loopback without a token, only loopback host names are accepted.
- Cross-site requests. A request is *foreign* when the browser says another site sent it
  (``Sec-Fetch-Site`` is ``cross-site`` or ``same-site``: another port on localhost is
  "same-site", and is still another program), or its ``Origin`` is not this server's
  scheme, host and port (default ports filled in), or is opaque (``null``). A request with
  ``Sec-Fetch-Site: same-origin`` or ``none`` (typed, bookmarked), or with no fetch
  metadata at all (curl, scripts), is this site's own.

  - State-changing methods must be this site's own and carry a JSON body (so a plain HTML
    form cannot send one).
  - A foreign GET may only *open a page*: a top-level navigation (``Sec-Fetch-Mode:
    navigate`` to a ``document``) to an HTML page. Node pages, the search page (a search
    only reads) and the console open from a link on another site; the console shows a
    query given in such a link but does not run it (403, "press Run to run it here").
  - Every other foreign GET is refused with 403 before any work is done: the JSON API
    under ``/api`` (downloads included), every JSON twin (``?format=json`` or ``Accept:
    application/json``), and any fetch, iframe, image or script load of a page (the
    search-as-you-type partials too). Another site can neither read JSON data nor make
    the server work for it.
- Headers: a CSP without inline script or style, no framing, no sniffing, no referrer.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, redirect, request
from werkzeug.exceptions import Forbidden, Unauthorized, UnsupportedMediaType

from kg.errors import ConfigError
from kg.settings import Settings
from web.http import wants_json

log = logging.getLogger(__name__)

COOKIE = "kg_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OWN_SITES = frozenset({"same-origin", "none"})  # Sec-Fetch-Site of this site's own requests
DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1", "[::1]"]
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Refuse to serve beyond this machine without a token.

    Raises:
        ConfigError: ``host`` is not a loopback address and no token is set.
    """
    if not is_loopback(settings.host) and not settings.token:
        raise ConfigError(f"refusing to serve on {settings.host} without a token: set KG_TOKEN "
                          "(clients then send `Authorization: Bearer $KG_TOKEN` or open ?token=...), "
                          "or bind 127.0.0.1")


def install(app: Flask, settings: Settings) -> None:
    """Register the token check, the cross-site checks and the security headers."""
    token = settings.token
    if not token and is_loopback(settings.host):
        app.config["TRUSTED_HOSTS"] = LOOPBACK_NAMES

    @app.before_request
    def _guard() -> Response | None:
        if token:
            response = _check_token(token)
            if response is not None:
                return response
        if request.method not in SAFE_METHODS:
            _check_cross_site()
        else:
            _check_cross_site_read()
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _check_token(token: str) -> Response | None:
    """None when the request carries the token; a redirect when it came in ``?token=``.

    Raises:
        Unauthorized: no token, or the wrong one.
    """
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and _same(header[7:].strip(), token):
        return None
    if _same(request.cookies.get(COOKIE, ""), token):
        return None
    given = request.args.get("token")
    if given is not None and _same(given, token) and request.method in SAFE_METHODS:
        rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
        target = request.path + ("?" + urlencode(rest) if rest else "")
        response = redirect(target, code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                            secure=request.is_secure, path="/")
        return response
    raise Unauthorized("a token is required: send `Authorization: Bearer TOKEN` or open this page with ?token=TOKEN")


def _same(given: str, token: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def foreign_reason() -> str | None:
    """Why this request counts as sent by another site; None when it is this site's own."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in OWN_SITES:
        return f"Sec-Fetch-Site: {site}"
    origin = request.headers.get("Origin")
    if origin == "null":
        return "opaque Origin"
    own = f"{request.scheme}://{request.host}"
    if origin is not None and (_origin(origin) is None or _origin(origin) != _origin(own)):
        return f"Origin {origin} is not {own}"
    return None


def check_own(refused: str) -> None:
    """Refuse work done on the user's behalf for a foreign request (see the module docstring).

    Args:
        refused: what is refused and what to do instead, for the message.

    Raises:
        Forbidden: the request is foreign.
    """
    reason = foreign_reason()
    if reason is not None:
        raise Forbidden(f"cross-site request refused ({reason}): {refused}")


def _check_cross_site() -> None:
    """State-changing requests must come from this site's own pages (or a non-browser client).

    Raises:
        Forbidden: the browser says the request is cross-site, or its Origin is another site.
        UnsupportedMediaType: the body is not JSON.
    """
    check_own(f"only kg's own pages and non-browser clients may send a {request.method}")
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")


def _check_cross_site_read() -> None:
    """A GET sent by another site's page may open an HTML page, and nothing else.

    The console view refuses to run a query for such a navigation itself (``check_own``),
    so that it can still show the page with the query in it.

    Raises:
        Forbidden: a foreign GET of the JSON API or a JSON twin, or one that fetches or
            embeds a page instead of opening it.
    """
    if foreign_reason() is None:
        return
    if wants_json():
        check_own("the JSON API answers kg's own pages and non-browser clients only")
    navigation = (request.headers.get("Sec-Fetch-Mode") == "navigate"
                  and request.headers.get("Sec-Fetch-Dest", "document") == "document")
    if not navigation:
        check_own("another site may link to this page, but not fetch or embed it")


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, default ports filled in; None when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a bad IPv6 literal, a port that is not a number or out of range
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.path or parts.query or parts.fragment \
            or parts.username is not None:
        return None  # an Origin header is scheme://host[:port] and nothing more
    return scheme, parts.hostname.lower(), DEFAULT_PORTS[scheme] if port is None else port
