"""The hot reload routes, grouped behind one prefix test, among the app's own routes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from fast_hot_reload import FastHotReload
from fast_hot_reload._web.endpoints import Endpoints

from .._support.clients import LocalClient

pytestmark = pytest.mark.usefixtures("env_unset")


def app_with_catch_all(tmp_path: Path) -> FastAPI:
    app = FastAPI()
    FastHotReload(app, watch_paths=tmp_path)  # as the README has it: before the app's own routes

    @app.get("/{path:path}")
    def everything(path: str) -> dict[str, str]:
        return {"caught": path}

    return app


def test_own_routes_win_over_a_catch_all_added_later(tmp_path: Path) -> None:
    with LocalClient(app_with_catch_all(tmp_path)) as client:
        script = client.get("/__hot_reload/client.js")
        assert script.headers["content-type"].startswith("application/javascript")
        with client.websocket_connect("/__hot_reload/ws") as ws:
            assert ws.receive_json()["type"] == "hello"
        assert client.get("/about").json() == {"caught": "about"}
        # the prefix in the path but no route of ours behind it: the app's route answers
        assert client.get("/docs/__hot_reload/x").json() == {"caught": "docs/__hot_reload/x"}
        assert client.get("/__hot_reload/nothing").json() == {"caught": "__hot_reload/nothing"}


def test_wrong_method_on_an_endpoint_is_405(tmp_path: Path) -> None:
    app = FastAPI()
    FastHotReload(app, watch_paths=tmp_path)
    with LocalClient(app) as client:
        response = client.post("/__hot_reload/client.js")
        assert response.status_code == 405
        assert "GET" in response.headers["allow"]


def test_endpoints_resolve_by_name_and_under_a_root_path(tmp_path: Path) -> None:
    app = FastAPI()
    FastHotReload(app, watch_paths=tmp_path)
    assert app.url_path_for("client_script") == "/__hot_reload/client.js"
    with LocalClient(app, root_path="/sub") as client:
        assert client.get("/sub/__hot_reload/client.js").status_code == 200


class Untouchable(BaseRoute):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raise AssertionError(f"asked about {scope['path']}")


@pytest.mark.parametrize("path", ["/", "/api/items", "/__hot_reload", "/static/__hot_reload.css"])
def test_other_paths_never_reach_the_grouped_routes(path: str) -> None:
    endpoints = Endpoints("/__hot_reload", [Untouchable()])
    assert endpoints.matches({"type": "http", "path": path, "root_path": ""}) == (Match.NONE, {})
