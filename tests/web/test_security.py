"""Access and browser safety: bind rules, the token, cross-site requests, headers, sizes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kg.errors import ConfigError
from app.workspace import Workspace
from kg.settings import Settings

FEEDBACK = json.dumps({"event": "search", "query": "q", "results": ["a"]})


def _app(graph: Any, settings: Settings) -> Any:
    from web import create_app

    return create_app(settings, workspace=Workspace(settings), store=graph.store, searcher=graph.searcher, roots=graph.roots)


def test_refuses_to_bind_beyond_loopback_without_a_token(graph: Any, settings: Settings) -> None:
    with pytest.raises(ConfigError, match="KG_TOKEN"):
        _app(graph, settings.with_(host="0.0.0.0"))
    _app(graph, settings.with_(host="0.0.0.0", token="s3cret"))  # fine with one
    _app(graph, settings.with_(host="::1"))  # loopback needs none


def test_token_is_required_then_accepted(graph: Any, settings: Settings) -> None:
    client = _app(graph, settings.with_(host="0.0.0.0", token="s3cret")).test_client()
    denied = client.get("/api/stats")
    assert denied.status_code == 401 and denied.get_json()["status"] == 401
    assert "Bearer" in denied.headers["WWW-Authenticate"]
    assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/stats", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/static/app.css").status_code == 401


def test_token_in_the_url_sets_a_cookie_once(graph: Any, settings: Settings) -> None:
    client = _app(graph, settings.with_(host="0.0.0.0", token="s3cret")).test_client()
    response = client.get("/stats?token=s3cret&format=json")
    assert response.status_code == 303 and response.headers["Location"] == "/stats?format=json"
    cookie = response.headers["Set-Cookie"]
    assert "kg_token=s3cret" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/stats?format=json").status_code == 200  # the cookie now carries it


def test_wrong_token_in_the_url_is_refused(graph: Any, settings: Settings) -> None:
    client = _app(graph, settings.with_(host="0.0.0.0", token="s3cret")).test_client()
    assert client.get("/stats?token=nope").status_code == 401


def test_dns_rebinding_hosts_are_refused_on_loopback(client: Any) -> None:
    assert client.get("/api/stats", headers={"Host": "evil.example:5000"}).status_code == 400
    page = client.get("/", headers={"Host": "evil.example"})
    assert page.status_code == 400 and page.get_json()["status"] == 400
    assert client.get("/api/stats", headers={"Host": "127.0.0.1:5000"}).status_code == 200


def post(client: Any, headers: dict[str, str] | None = None, **kw: Any) -> Any:
    kw.setdefault("data", FEEDBACK)
    kw.setdefault("content_type", "application/json")
    return client.post("/api/feedback", headers=headers or {}, **kw)


def test_cross_site_posts_are_refused(client: Any) -> None:
    assert post(client, {"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert post(client, {"Sec-Fetch-Site": "same-site"}).status_code == 403
    assert post(client, {"Origin": "https://evil.example"}).status_code == 403
    assert post(client, {"Origin": "null"}).status_code == 403
    assert post(client, {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert post(client).status_code == 200  # curl and scripts send neither header


def test_only_json_bodies_are_accepted(client: Any) -> None:
    form = post(client, data="event=search", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415 and form.get_json()["status"] == 415
    assert post(client, content_type="text/plain").status_code == 415  # what a no-preflight fetch sends


def test_request_size_is_bounded(client: Any) -> None:
    huge = json.dumps({"query": "RETURN 1", "params": {"x": "y" * (2 << 20)}})
    response = client.post("/api/cypher", data=huge, content_type="application/json")
    assert response.status_code == 413 and response.get_json()["status"] == 413


def test_security_headers(client: Any) -> None:
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/api/stats").headers["Cache-Control"] == "no-store"


def test_serve_command_refuses_a_public_host_without_a_token(tmp_path: Any, monkeypatch: Any) -> None:
    from click.testing import CliRunner

    from app.main import main

    monkeypatch.delenv("KG_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "db"), "serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 1 and "KG_TOKEN" in result.output
