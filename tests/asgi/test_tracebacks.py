"""The overlay's details of an app's error: the app's frames, none of our layers' (nor the Jinja hook's); a bug
raised inside our package keeps every frame."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from fast_hot_reload import FastHotReload
from fast_hot_reload._errors.details import app_error_details

from .._support.clients import ERROR_JSON, LocalClient

BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
OUR_FILES = {"outer.py", "inner.py", "jinja.py"}  # as the details name them (our files are outside the app's roots)


def failing_app(root: Path) -> FastAPI:
    (root / "templates").mkdir()
    (root / "templates" / "syntax.html").write_text("<ul>\n{% for item in items %}\n{% endif %}\n")
    (root / "templates" / "undefined.html").write_text("<p>\n{{ user.name.upper() }}\n")
    templates = Jinja2Templates(directory=root / "templates")
    app = FastAPI()

    @app.get("/syntax", response_class=HTMLResponse)
    def syntax(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "syntax.html")

    @app.get("/undefined", response_class=HTMLResponse)
    def undefined(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "undefined.html")

    @app.get("/route")
    def route() -> None:
        raise LookupError("no user bob")

    @app.get("/ours")
    def ours() -> None:
        app_error_details(500, None)  # type: ignore[arg-type]  # a bug inside fast_hot_reload

    FastHotReload(app, watch_paths=root)
    return app


def details_of(client: LocalClient, route: str) -> dict[str, Any]:
    page = client.get(route, headers=BROWSER)
    assert page.status_code == 500
    details: dict[str, Any] = json.loads(ERROR_JSON.findall(page.text)[0])
    return details


@pytest.mark.parametrize(
    ("route", "innermost"),
    [("/syntax", "template"), ("/undefined", "getattr"), ("/route", "route")],
)
def test_the_overlay_shows_the_app_error_without_our_frames(tmp_path: Path, route: str, innermost: str) -> None:
    with LocalClient(failing_app(tmp_path), raise_server_exceptions=False) as client:
        details = details_of(client, route)
    frames = [(frame["file"], frame["function"]) for frame in details["frames"]]
    assert not [frame for frame in frames if frame[0] in OUR_FILES or frame[1] == "wrapper"], frames
    assert details["frames"][-1]["function"] == innermost
    assert ("test_tracebacks.py", route.strip("/")) in frames  # the app's route stays


def test_a_bug_raised_in_our_code_keeps_every_frame_in_the_overlay(tmp_path: Path) -> None:
    with LocalClient(failing_app(tmp_path), raise_server_exceptions=False) as client:
        details = details_of(client, "/ours")
    files = [frame["file"] for frame in details["frames"]]
    assert details["frames"][-1]["function"] == "app_error_details"
    assert {"outer.py", "inner.py", "details.py"} <= set(files), files
