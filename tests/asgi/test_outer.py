"""The outer layer: our endpoints before the app's middleware, no-cache where a heuristic would decide, error pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from fast_hot_reload import FastHotReload
from fast_hot_reload._web.error_page import NO_CACHE
from fast_hot_reload._web.outer import no_cache

from .._support.clients import ERROR_JSON, LocalClient

BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def start(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http.response.start", "status": 200, "headers": list(headers)}


@pytest.mark.parametrize(
    ("headers", "added"),
    [
        ([(b"last-modified", b"Wed, 02 Dec 2026 00:00:00 GMT"), (b"etag", b'"x"')], True),  # StaticFiles
        ([(b"Last-Modified", b"Wed, 02 Dec 2026 00:00:00 GMT")], True),
        ([(b"last-modified", b"x"), (b"cache-control", b"max-age=60")], False),
        ([(b"last-modified", b"x"), (b"Cache-Control", b"public")], False),
        ([(b"last-modified", b"x"), (b"expires", b"0")], False),
        ([(b"content-type", b"application/json")], False),  # browsers do not cache this by heuristic
        ([], False),
    ],
)
def test_no_cache_only_where_a_heuristic_would_decide(headers: list[tuple[bytes, bytes]], added: bool) -> None:
    message = start(*headers)
    result = no_cache(message)
    assert result["headers"] == ([*headers, NO_CACHE] if added else headers)
    assert message["headers"] == headers  # the app's own list is never changed


def failing_app(tmp_path: Path, debug: bool = False) -> FastAPI:
    app = FastAPI(debug=debug)

    @app.api_route("/boom", methods=["GET", "HEAD"])
    def boom() -> None:
        raise RuntimeError("kaboom <b>not markup</b>")

    @app.get("/unavailable")
    def unavailable() -> PlainTextResponse:
        return PlainTextResponse("maintenance: back soon", status_code=503)

    @app.get("/own-error-page", response_class=HTMLResponse)
    def own_error_page() -> HTMLResponse:
        return HTMLResponse("<html><body><h1>our own 500</h1></body></html>", status_code=500)

    FastHotReload(app, watch_paths=tmp_path)
    return app


@pytest.mark.parametrize("debug", [False, True])
def test_a_browser_page_that_raises_gets_our_error_page(tmp_path: Path, debug: bool) -> None:
    with LocalClient(failing_app(tmp_path, debug), raise_server_exceptions=False) as client:
        page = client.get("/boom", headers=BROWSER)
        head = client.head("/boom", headers=BROWSER)
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert int(page.headers["content-length"]) == len(page.content)
    assert page.text.count("/__hot_reload/client.js") == 1
    (data,) = ERROR_JSON.findall(page.text)
    details = json.loads(data)
    assert (details["title"], details["message"]) == ("RuntimeError", "kaboom <b>not markup</b>")
    assert "<b>not markup</b>" not in page.text.replace(data, "")  # escaped everywhere else
    assert details["frames"][-1]["function"] == "boom"  # innermost last, as Python prints it
    assert head.status_code == 500 and head.content == b""


@pytest.mark.parametrize("accept", ["application/json", "*/*", None])
def test_api_clients_get_the_apps_own_500_byte_for_byte(tmp_path: Path, accept: str | None) -> None:
    headers = {"accept": accept} if accept else {}
    plain = FastAPI()

    @plain.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    with (
        LocalClient(failing_app(tmp_path), raise_server_exceptions=False) as ours,
        LocalClient(plain, raise_server_exceptions=False) as theirs,
    ):
        mine, expected = ours.get("/boom", headers=headers), theirs.get("/boom", headers=headers)
    assert (mine.status_code, mine.content) == (expected.status_code, expected.content)
    assert mine.content == b"Internal Server Error"


def test_an_app_made_5xx_shows_its_text_and_an_own_html_error_page_keeps_it(tmp_path: Path) -> None:
    with LocalClient(failing_app(tmp_path), raise_server_exceptions=False) as client:
        unavailable = client.get("/unavailable", headers=BROWSER)
        own = client.get("/own-error-page", headers=BROWSER)
    assert unavailable.status_code == 503
    details = json.loads(ERROR_JSON.findall(unavailable.text)[0])
    assert details["message"] == "maintenance: back soon" and details["title"] == "503 from the app"
    assert own.status_code == 500 and "our own 500" in own.text  # it has the tag: its tab recovers by itself
    assert own.text.count("/__hot_reload/client.js") == 1 and "fast-hot-reload-error" not in own.text


def test_endpoints_are_served_before_the_apps_middleware(tmp_path: Path) -> None:
    app = FastAPI()
    FastHotReload(app, watch_paths=tmp_path)

    @app.middleware("http")
    async def everything_redirects(request: Any, call_next: Any) -> Response:
        return RedirectResponse("/login")

    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["example.com"])
    with LocalClient(app, follow_redirects=False) as client:
        assert client.get("/__hot_reload/client.js").status_code == 200
        with client.websocket_connect("/__hot_reload/ws") as ws:
            assert ws.receive_json()["type"] == "hello"
        assert client.get("/anything").status_code == 400  # the app's own middleware still guards the rest
