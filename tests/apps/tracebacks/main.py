"""Errors for the traceback tests: a template that does not compile, one that fails as it renders, a route that
raises (from an exception it was handling), and a bug raised inside our own package. Relative template dir."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from fast_hot_reload import FastHotReload
from fast_hot_reload._errors.details import app_error_details

app = FastAPI()
templates = Jinja2Templates(directory="templates")
FastHotReload(app)


@app.get("/syntax", response_class=HTMLResponse)
async def syntax(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "syntax.html")


@app.get("/undefined", response_class=HTMLResponse)
async def undefined(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "undefined.html")


def load_user(name: str) -> dict[str, str]:
    users = {"ada": "Ada"}
    try:
        return {"name": users[name]}
    except KeyError as missing:
        raise LookupError(f"no user {name}") from missing


@app.get("/route", response_class=HTMLResponse)
async def route() -> HTMLResponse:
    return HTMLResponse(load_user("bob")["name"])


@app.get("/ours", response_class=HTMLResponse)
async def ours() -> HTMLResponse:
    app_error_details(500, None)  # type: ignore[arg-type]  # a bug inside fast_hot_reload, as one of ours would be
    return HTMLResponse("unreachable")
