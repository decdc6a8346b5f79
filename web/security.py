"""Who may use the server, and what a page may do in the browser.

- Binding: 127.0.0.1 (or another loopback address) by default. Bound elsewhere, the app
  refuses to start without a token (``KG_TOKEN``).
- Token: when one is set, every request must carry it, as ``Authorization: Bearer TOKEN``
  or as the ``kg_token`` cookie, which ``?token=TOKEN`` sets once (then redirects to the
  same URL without it, so the token does not stay in the address bar or in history).
- DNS rebinding: on loopback without a token, only loopback host names are accepted.
- Cross-site requests: state-changing methods need a JSON body (so a plain HTML form
  cannot send one), a same-origin ``Sec-Fetch-Site`` and an ``Origin`` with this server's
  scheme, host and port when the browser sends them. A GET from another site (its
  ``Sec-Fetch-Site`` is ``cross-site`` or ``same-site``) may open a page, but does no work:
  the JSON API and JSON twins refuse it, and the console does not run a query for it.
  Requests with no fetch metadata at all (curl, scripts) are not browsers and pass.
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

log = logging.getLogger(__name__)

COOKIE = "kg_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
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


def _check_cross_site() -> None:
    """State-changing requests must come from this site's own pages (or a non-browser client).

    Raises:
        Forbidden: the browser says the request is cross-site, or its Origin is another site.
        UnsupportedMediaType: the body is not JSON.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise Forbidden(f"cross-site request refused (Sec-Fetch-Site: {site})")
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        if _origin(origin) != _origin(f"{request.scheme}://{request.host}"):
            raise Forbidden(f"cross-site request refused (Origin {origin} is not {request.scheme}://{request.host})")
    elif origin == "null":
        raise Forbidden("cross-site request refused (opaque Origin)")
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")


def _check_cross_site_read() -> None:
    """A GET sent by another site's page may navigate here, but runs nothing.

    Raises:
        Forbidden: a cross-site or same-site GET of the JSON API, a JSON twin, or a console
            query.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is None or site in ("same-origin", "none"):
        return
    if request.path.startswith("/api/") or request.args.get("format") == "json":
        raise Forbidden(f"cross-site request refused (Sec-Fetch-Site: {site}): the JSON API answers "
                        "kg's own pages and non-browser clients only")
    if request.path.rstrip("/") == "/console" and request.args.get("query", "").strip():
        raise Forbidden(f"cross-site request refused (Sec-Fetch-Site: {site}): a console query runs only "
                        "from kg's own pages; open /console and run it there")


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an origin, default ports filled in."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return ("", url, None)
    scheme = parts.scheme.lower()
    return (scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme))
