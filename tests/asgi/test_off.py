from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.websockets import WebSocketDisconnect

from fast_hot_reload import FastHotReload, HotReloadMiddleware, hot_reload_router

from .._support.clients import LocalClient

PAGE = "<html><head><title>t</title></head><body><h1>hi</h1></body></html>"


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return PAGE

    return app


def assert_untouched(client: LocalClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.text == PAGE
    assert "<script" not in page.text
    assert page.headers["content-length"] == str(len(PAGE))
    assert client.get("/__hot_reload/client.js").status_code == 404
    assert client.get("/__hot_reload/events").status_code == 404


def switch_off(monkeypatch: pytest.MonkeyPatch, how: str) -> dict[str, bool]:
    if how == "enabled=False":
        monkeypatch.delenv("FAST_HOT_RELOAD", raising=False)
        return {"enabled": False}
    monkeypatch.setenv("FAST_HOT_RELOAD", how)
    return {}


@pytest.mark.parametrize("how", ["enabled=False", "0", "false", "off", "OFF"])
def test_switched_off_adds_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str) -> None:
    app = make_app()
    routes = list(app.routes)
    middleware = list(app.user_middleware)
    lifespan = app.router.lifespan_context

    hot = FastHotReload(app, watch_paths=tmp_path, **switch_off(monkeypatch, how))

    assert hot.enabled is False
    assert app.routes == routes
    assert app.user_middleware == middleware
    assert app.router.lifespan_context is lifespan
    assert getattr(app.state, "fast_hot_reload", None) is None
    with LocalClient(app) as client:
        assert_untouched(client)


@pytest.mark.parametrize("how", ["enabled=False", "0"])
def test_switched_off_plugin_can_be_followed_by_a_real_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str
) -> None:
    # nothing was registered, so nothing stands in the way of turning it on later in the same process
    app = make_app()
    FastHotReload(app, watch_paths=tmp_path, **switch_off(monkeypatch, how))
    monkeypatch.delenv("FAST_HOT_RELOAD", raising=False)
    assert FastHotReload(app, watch_paths=tmp_path).enabled is True


@pytest.mark.parametrize("value", ["0", "false", "off"])
def test_manual_wiring_switched_off_by_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str) -> None:
    monkeypatch.setenv("FAST_HOT_RELOAD", value)
    monkeypatch.chdir(tmp_path)  # the default router watches the working directory
    app = make_app()
    app.include_router(hot_reload_router)
    app.add_middleware(HotReloadMiddleware)
    with LocalClient(app) as client:
        assert "fast_hot_reload" not in client.app_state
        assert_untouched(client)
        assert client.head("/__hot_reload/client.js").status_code == 404
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/__hot_reload/ws"):
            pass  # pragma: no cover
        assert refused.value.code == 1008


def test_manual_middleware_without_router_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAST_HOT_RELOAD", raising=False)
    app = make_app()
    app.add_middleware(HotReloadMiddleware)
    with LocalClient(app) as client:
        assert_untouched(client)
