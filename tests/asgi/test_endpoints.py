from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.applications import Starlette
from starlette.responses import HTMLResponse as StarletteHTML
from starlette.routing import Route
from starlette.websockets import WebSocketDisconnect

from fast_hot_reload import FastHotReload, HotReloadMiddleware, hot_reload_router
from fast_hot_reload._web.client import render_client
from fast_hot_reload._web.routes import NOT_RUNNING
from fast_hot_reload._web.runtime import Runtime

from .._support.clients import LocalClient, runtime_of

PAGE = "<html><head><title>t</title></head><body><h1>hi</h1></body></html>"
SCRIPT_RE = re.compile(
    r'<script src="([^"]+)" data-boot="([0-9a-f]+)" data-version="(\d+)" data-page="[0-9a-f]{32}"'
    r'(?: data-templates="[^"]*")?'
    r'( nonce="[^"]*")? defer>'
)
pytestmark = pytest.mark.usefixtures("env_unset")


def make_app(tmp_path: Path, **options: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return PAGE

    @app.get("/boot")
    def boot(request: Request) -> dict[str, Any]:
        runtime: Runtime = request.state.fast_hot_reload
        return {"boot": runtime.broadcaster.boot, "version": runtime.broadcaster.version}

    FastHotReload(app, watch_paths=tmp_path, **options)
    return app


def publish(client: LocalClient, kind: str, *paths: str) -> None:
    # the broadcaster lives on the app's event loop thread: publish there
    runtime = runtime_of(client)
    client.portal.call(lambda: runtime.broadcaster.publish(kind, paths))  # type: ignore[union-attr,arg-type]


# ---- client.js ----


def test_page_gets_the_script_and_it_is_served(tmp_path: Path) -> None:
    app = make_app(tmp_path, ws_message_prefix="[HR test]", ws_connected_message="Hello there")
    with LocalClient(app) as client:
        page = client.get("/")
        src, boot, version, nonce = SCRIPT_RE.search(page.text).groups()  # type: ignore[union-attr]
        assert page.text.count("<script") == 1
        assert page.text.index("<script") < page.text.index("</body>")
        assert (boot, version, nonce) == (client.get("/boot").json()["boot"], "0", None)
        assert src.startswith("/__hot_reload/client.js?h=")

        script = client.get(src)
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("application/javascript")
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert '"prefix": "[HR test]"' in script.text
    assert '"connectedMessage": "Hello there"' in script.text
    assert '"transport": "ws"' in script.text
    assert '"reconnectMessage": "Reconnecting in ${reconnectInterval} seconds..."' in script.text


def test_script_hash_matches_its_content(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    with LocalClient(app) as client:
        src = SCRIPT_RE.search(client.get("/").text).group(1)  # type: ignore[union-attr]
        text = client.get(src).text
    script, digest = render_client(runtime_config(app))
    assert text == script and src.endswith(f"?h={digest}")


def runtime_config(app: FastAPI) -> Any:
    return app.state.fast_hot_reload.config


@pytest.mark.parametrize("query", ["", "?h=", "?h=stale", "?x=1"])
def test_script_without_the_right_hash_is_not_cached(tmp_path: Path, query: str) -> None:
    with LocalClient(make_app(tmp_path)) as client:
        response = client.get("/__hot_reload/client.js" + query)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"


def test_script_head(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path)) as client:
        get = client.get("/__hot_reload/client.js")
        head = client.head("/__hot_reload/client.js")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]


def test_options_reach_the_script(tmp_path: Path) -> None:
    app = make_app(tmp_path, ws_host_override="custom_host", ws_port_override=8000, _ws_reconnect_interval=7)
    with LocalClient(app) as client:
        text = client.get("/__hot_reload/client.js").text
    assert '"wsHost": "custom_host"' in text and '"wsPort": 8000' in text and '"reconnectInterval": 7' in text


def test_sse_transport_in_the_script(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path, use_alternate_config=True)) as client:
        assert '"transport": "sse"' in client.get("/__hot_reload/client.js").text


def test_custom_url_prefix(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path, url_prefix="/dev/hr")) as client:
        src = SCRIPT_RE.search(client.get("/").text).group(1)  # type: ignore[union-attr]
        assert src.startswith("/dev/hr/client.js?h=")
        assert client.get(src).status_code == 200
        assert client.get("/__hot_reload/client.js").status_code == 404


def test_root_path_in_script_src(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path), root_path="/sub") as client:
        src = SCRIPT_RE.search(client.get("/").text).group(1)  # type: ignore[union-attr]
    assert src.startswith("/sub/__hot_reload/client.js?h=")


def test_endpoints_404_when_lifespan_did_not_run(tmp_path: Path) -> None:
    client = LocalClient(make_app(tmp_path))  # no `with`: no lifespan, so no Runtime
    assert client.get("/__hot_reload/client.js").status_code == 404
    assert client.get("/__hot_reload/events").status_code == 404
    assert client.get("/").text == PAGE


# ---- websocket ----


def test_websocket_hello_then_event(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path)) as client, client.websocket_connect("/__hot_reload/ws") as ws:
        broadcaster = runtime_of(client).broadcaster
        assert ws.receive_json() == {"type": "hello", "boot": broadcaster.boot, "version": 0, "recent": []}
        publish(client, "css", "static/a.css")
        assert ws.receive_json() == {"type": "css", "boot": broadcaster.boot, "version": 1, "paths": ["static/a.css"]}
        publish(client, "reload", "index.html")
        assert ws.receive_json()["version"] == 2
    assert broadcaster.subscribers == 0


def test_websocket_hello_carries_the_current_version(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path)) as client:
        publish(client, "reload", "a.html")
        with client.websocket_connect("/__hot_reload/ws") as ws:
            assert ws.receive_json()["version"] == 1


def test_websocket_survives_client_frames(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path)) as client, client.websocket_connect("/__hot_reload/ws") as ws:
        ws.receive_json()
        ws.send_text("x" * 1_000_000)
        ws.send_bytes(b"\x00\xff" * 1000)
        ws.send_text("{not json")
        publish(client, "reload", "a.html")
        assert ws.receive_json()["type"] == "reload"


def test_runtime_is_in_request_state(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path)) as client:
        assert client.get("/boot").json() == {"boot": runtime_of(client).broadcaster.boot, "version": 0}


@pytest.mark.parametrize("origin", ["http://evil.example", "https://testserver.evil.example", "null", "file://"])
def test_websocket_foreign_origin_refused(tmp_path: Path, origin: str) -> None:
    with LocalClient(make_app(tmp_path)) as client:
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect("/__hot_reload/ws", headers={"origin": origin}),
        ):
            pass  # pragma: no cover
        assert refused.value.code == 1008
        assert runtime_of(client).broadcaster.subscribers == 0


@pytest.mark.parametrize(
    ("server", "origin"),
    [
        ("localhost", "http://localhost"),
        ("localhost", "https://localhost"),  # a proxy in front, terminating TLS
        ("app.localhost:8000", "http://app.localhost:8000"),
        ("localhost:8000", "http://127.0.0.1:8000"),  # this machine, this port: this server under another name
        ("[::1]:8000", "http://localhost:8000"),
        ("localhost", None),
    ],
)
def test_websocket_same_origin_accepted(tmp_path: Path, server: str, origin: str | None) -> None:
    # the Host header, not the URL: Starlette's TestClient before 0.37 cannot parse an IPv6 URL
    headers = {"host": server, **({"origin": origin} if origin else {})}
    with (
        LocalClient(make_app(tmp_path)) as client,
        client.websocket_connect("/__hot_reload/ws", headers=headers) as ws,
    ):
        assert ws.receive_json()["type"] == "hello"


def test_websocket_host_override_origin_accepted(tmp_path: Path) -> None:
    app = make_app(tmp_path, ws_host_override="custom_host", ws_port_override=8000)
    with LocalClient(app) as client:
        with client.websocket_connect("/__hot_reload/ws", headers={"origin": "http://custom_host:3000"}) as ws:
            assert ws.receive_json()["type"] == "hello"
        with (
            pytest.raises(WebSocketDisconnect),
            client.websocket_connect("/__hot_reload/ws", headers={"origin": "http://other_host"}),
        ):
            pass  # pragma: no cover


# ---- SSE: the endpoint only with streams that end (the generator: tests/unit/test_streams.py) ----


def test_sse_head_answers_at_once_without_a_stream(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path, use_alternate_config=True)) as client:
        head = client.head("/__hot_reload/events")
        assert head.status_code == 200
        assert head.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert head.headers["cache-control"] == "no-store"
        assert head.content == b""
        assert runtime_of(client).broadcaster.subscribers == 0


def test_sse_endpoint_404_without_runtime(tmp_path: Path) -> None:
    app = make_app(tmp_path, use_alternate_config=True)
    assert LocalClient(app).get("/__hot_reload/events").status_code == 404


# ---- wiring ----


def test_manual_wiring_injects_and_serves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default router watches the working directory
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return PAGE

    app.include_router(hot_reload_router)
    app.add_middleware(HotReloadMiddleware)
    with LocalClient(app) as client:
        page = client.get("/").text
        src = SCRIPT_RE.search(page).group(1)  # type: ignore[union-attr]
        assert page.count("<script") == 1
        assert client.get(src).headers["content-type"].startswith("application/javascript")
        with client.websocket_connect("/__hot_reload/ws") as ws:
            assert ws.receive_json()["type"] == "hello"


@pytest.mark.parametrize(("switch", "warned"), [(None, True), ("0", False)])
def test_router_whose_lifespan_never_ran_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, switch: str | None, warned: bool
) -> None:
    if switch is not None:
        monkeypatch.setenv("FAST_HOT_RELOAD", switch)
    app = FastAPI()
    app.include_router(hot_reload_router)
    client = LocalClient(app)  # not entered: no lifespan runs, as under a server with lifespans off
    assert client.get("/__hot_reload/client.js").status_code == 404
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said == ([NOT_RUNNING] if warned else []), said  # switched off on purpose: nothing to say


def test_own_lifespan_keeps_its_state(tmp_path: Path) -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"db": "connected"}
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)

    @app.get("/state")
    def state(request: Request) -> dict[str, Any]:
        return {"db": request.state.db, "hot": type(request.state.fast_hot_reload).__name__}

    FastHotReload(app, watch_paths=tmp_path)
    with LocalClient(app) as client:
        assert events == ["startup"]
        assert client.get("/state").json() == {"db": "connected", "hot": "Runtime"}
        assert client.get("/__hot_reload/client.js").status_code == 200
    assert events == ["startup", "shutdown"]


def test_own_lifespan_without_state(tmp_path: Path) -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)
    FastHotReload(app, watch_paths=tmp_path)
    with LocalClient(app) as client:
        assert client.get("/__hot_reload/client.js").status_code == 200
    assert events == ["startup", "shutdown"]


def test_shutdown_closes_the_broadcaster(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path)) as client:
        broadcaster = runtime_of(client).broadcaster
        assert not broadcaster.closed
    assert broadcaster.closed


def starlette_app(tmp_path: Path) -> Starlette:
    def index(request: Any) -> StarletteHTML:
        return StarletteHTML(PAGE)

    app = Starlette(routes=[Route("/", index)])
    FastHotReload(app, watch_paths=tmp_path)
    return app


def test_starlette_app_page_and_websocket(tmp_path: Path) -> None:
    with LocalClient(starlette_app(tmp_path)) as client:
        assert SCRIPT_RE.search(client.get("/").text)
        with client.websocket_connect("/__hot_reload/ws") as ws:
            assert ws.receive_json()["type"] == "hello"


def test_starlette_app_serves_client_js(tmp_path: Path) -> None:
    with LocalClient(starlette_app(tmp_path)) as client:
        assert client.get("/__hot_reload/client.js").status_code == 200
        assert client.head("/__hot_reload/client.js").status_code == 200


def test_starlette_app_events_404_without_runtime(tmp_path: Path) -> None:
    assert LocalClient(starlette_app(tmp_path)).get("/__hot_reload/events").status_code == 404


def test_a_stopping_server_turns_new_clients_away_without_a_hello(tmp_path: Path) -> None:
    """Once the server is told to exit, new clients must back off until the next server answers."""
    with LocalClient(make_app(tmp_path)) as client:
        runtime = runtime_of(client)
        client.portal.call(runtime.broadcaster.close)  # type: ignore[union-attr]
        with client.websocket_connect("/__hot_reload/ws") as ws, pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 1012
        assert client.get("/__hot_reload/events").status_code == 503


def test_an_idle_websocket_gets_keepalive_pings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fast_hot_reload._lifespan as lifespan_module

    monkeypatch.setattr(lifespan_module, "PING_INTERVAL", 0.05)
    with LocalClient(make_app(tmp_path)) as client, client.websocket_connect("/__hot_reload/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        assert ws.receive_json() == {"type": "ping"}
        assert ws.receive_json() == {"type": "ping"}  # one per tick, for as long as the client stays
        assert runtime_of(client).broadcaster.version == 0
        publish(client, "css", "a.css")
        while (message := ws.receive_json()) == {"type": "ping"}:
            pass
        assert (message["type"], message["version"]) == ("css", 1)


@pytest.mark.parametrize(
    ("headers", "kept"),
    [
        ({"sec-fetch-dest": "document", "upgrade-insecure-requests": "1"}, True),  # a navigation
        ({"upgrade-insecure-requests": "1"}, True),  # a navigation where no Sec-Fetch is sent (plain http, LAN)
        ({"sec-fetch-dest": "empty", "x-hot-reload": "refresh"}, False),  # the client's own fetch: it keeps it
        ({}, False),  # a tool such as wrk or curl
    ],
)
def test_baseline_is_kept_for_navigations_only(tmp_path: Path, headers: dict[str, str], kept: bool) -> None:
    with LocalClient(make_app(tmp_path)) as client:
        page = client.get("/", headers={"accept": "text/html", **headers}).text
        (page_id,) = re.findall(r'data-page="([0-9a-f]{32})"', page)
        baseline = client.get(f"/__hot_reload/page/{page_id}")
    assert baseline.status_code == (200 if kept else 404)
    if kept:
        assert baseline.text == page and baseline.headers["content-type"].startswith("text/plain")
        assert baseline.headers["cache-control"] == "no-store"


def test_a_refused_origin_is_logged_once_with_the_proxy_fix(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A tab behind a proxy that rewrites Host retries its websocket for ever (over SSE meanwhile): one line, not one
    per attempt, and it says what to change."""
    with LocalClient(make_app(tmp_path)) as client:
        for _ in range(3):
            headers = {"origin": "http://dev.example:8080", "host": "127.0.0.1:8000"}
            with (
                pytest.raises(WebSocketDisconnect),
                client.websocket_connect("/__hot_reload/ws", headers=headers) as ws,
            ):
                ws.receive_text()
        with (
            pytest.raises(WebSocketDisconnect),
            client.websocket_connect(
                "/__hot_reload/ws", headers={"origin": "http://evil.example", "host": "127.0.0.1:8000"}
            ) as ws,
        ):
            ws.receive_text()
    refused = [r.getMessage() for r in caplog.records if "refused a hot reload websocket" in r.getMessage()]
    assert len(refused) == 2, refused
    assert "'http://dev.example:8080' for Host '127.0.0.1:8000'" in refused[0]
    assert "proxy_set_header Host $host;" in refused[0] and "ws_host_override='dev.example'" in refused[0]
