"""Who gets what: baselines only to the browser that got the page, error details and log lines only to this
machine (or whom the developer names), and no response altered beyond the one tag (ranges, mounts, big pages)."""

from __future__ import annotations

import json
import logging
import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import jinja2
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.applications import Starlette
from starlette.routing import Route

from fast_hot_reload import FastHotReload
from fast_hot_reload._files.python import python_changed

from .._support.clients import ERROR_JSON, STATIC_RANGES, LocalClient, runtime_of, stream_through

BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8", "sec-fetch-dest": "document"}
PAGE_ID = re.compile(r'data-page="([0-9a-f]+)"')
LAN = ("192.168.1.50", 51234)  # a phone, or someone else, on the same network
FROM_LAN = {"x-test-client": LAN[0]}  # one request of LocalClient's from that address


@pytest.fixture(autouse=True)
def _env_unset(env_unset: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAST_HOT_RELOAD_TRUSTED_CLIENTS", raising=False)


# ---- page ids and baselines ----


def page_app(tmp_path: Path) -> FastAPI:
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> str:
        return f"<html><body><p>account of {request.query_params.get('user', 'nobody')}</p></body></html>"

    FastHotReload(app, watch_paths=tmp_path)
    return app


def test_page_ids_are_128_random_bits(tmp_path: Path) -> None:
    with LocalClient(page_app(tmp_path)) as client:
        ids = [PAGE_ID.findall(client.get("/", headers=BROWSER).text)[0] for _ in range(50)]
    assert all(len(page_id) == 32 for page_id in ids)
    assert len(set(ids)) == 50
    numbers = sorted(int(page_id, 16) for page_id in ids)
    assert (
        min(b - a for a, b in zip(numbers, numbers[1:], strict=False)) > 2**64
    )  # nowhere near a count: nothing to count down


def test_a_baseline_goes_once_and_only_to_the_client_that_got_the_page(tmp_path: Path) -> None:
    app = page_app(tmp_path)
    with LocalClient(app) as developer:
        page = developer.get("/?user=alice", headers=BROWSER)
        (page_id,) = PAGE_ID.findall(page.text)
        stolen = developer.get(f"/__hot_reload/page/{page_id}", headers=FROM_LAN)
        assert stolen.status_code == 404 and "alice" not in stolen.text
        baseline = developer.get(f"/__hot_reload/page/{page_id}")
        assert baseline.status_code == 200 and baseline.text == page.text
        assert baseline.headers["x-content-type-options"] == "nosniff"
        assert baseline.headers["cache-control"] == "no-store"
        assert developer.get(f"/__hot_reload/page/{page_id}").status_code == 404  # once
        for junk in ("0", "1" * 32, "../../etc/passwd", "%00", "x" * 5000):
            assert developer.get(f"/__hot_reload/page/{junk}").status_code == 404


def test_a_baseline_keeps_its_pages_charset(tmp_path: Path) -> None:
    app = FastAPI()

    @app.get("/")
    def latin1() -> HTMLResponse:
        return HTMLResponse("<html><body>café</body></html>".encode("latin-1"), media_type="text/html; charset=latin-1")

    FastHotReload(app, watch_paths=tmp_path)
    with LocalClient(app) as client:
        page = client.get("/", headers=BROWSER)
        baseline = client.get(f"/__hot_reload/page/{PAGE_ID.findall(page.text)[0]}")
    assert baseline.content == page.content and "café".encode("latin-1") in baseline.content
    assert baseline.headers["content-type"] == "text/plain; charset=latin-1"


# ---- error details and log lines ----


def failing_app(tmp_path: Path, **options: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/boom")
    def boom() -> None:
        secret = "postgres://admin:hunter2@db/prod"  # noqa: F841 - what a traceback's source lines show
        raise RuntimeError("could not connect to postgres://admin:hunter2@db/prod")

    FastHotReload(app, watch_paths=tmp_path, **options)
    return app


def test_a_lan_client_gets_the_error_page_without_details_and_is_told_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = failing_app(tmp_path)
    with LocalClient(app, client=LAN, raise_server_exceptions=False) as client:
        pages = [client.get("/boom", headers=BROWSER) for _ in range(3)]
    page = pages[0]
    assert page.status_code == 500 and "hunter2" not in page.text and "boom" not in page.text.lower().split("<body")[1]
    assert page.text.count("/__hot_reload/client.js") == 1  # the tab still recovers by itself once it is fixed
    details = json.loads(ERROR_JSON.findall(page.text)[0])
    assert details["kind"] == "withheld" and details["frames"] == [] and details["source"] is None
    assert "192.168.1.50" in details["message"] and "trusted_clients=['192.168.1.50']" in details["message"]
    said = [r.getMessage() for r in caplog.records if "not sent to 192.168.1.50" in r.getMessage()]
    assert len(said) == 1 and "FAST_HOT_RELOAD_TRUSTED_CLIENTS=192.168.1.50" in said[0]


@pytest.mark.parametrize(
    ("client", "options", "env"),
    [
        (("127.0.0.1", 1), {}, ""),
        (("127.8.9.10", 1), {}, ""),
        (("::1", 1), {}, ""),
        (("::ffff:127.0.0.1", 1), {}, ""),
        (LAN, {"trusted_clients": ["192.168.1.0/24"]}, ""),
        (LAN, {"trusted_clients": "192.168.1.50"}, ""),
        (LAN, {"trusted_clients": ["*"]}, ""),
        (("172.17.0.1", 1), {}, "172.17.0.1, 10.0.0.0/8"),  # Docker's bridge gateway, from the environment
    ],
)
def test_this_machine_and_named_clients_get_the_details(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: tuple[str, int], options: dict[str, Any], env: str
) -> None:
    monkeypatch.setenv("FAST_HOT_RELOAD_TRUSTED_CLIENTS", env)
    with LocalClient(failing_app(tmp_path, **options), client=client, raise_server_exceptions=False) as local:
        details = json.loads(ERROR_JSON.findall(local.get("/boom", headers=BROWSER).text)[0])
    assert details["title"] == "RuntimeError" and "hunter2" in details["message"]
    assert any(frame["function"] == "boom" for frame in details["frames"])


@pytest.mark.parametrize("client", [("10.0.0.7", 1), ("192.168.2.1", 1), ("testclient", 50000), ("fe80::1", 1)])
def test_anyone_else_is_not_trusted(tmp_path: Path, client: tuple[str, int]) -> None:
    app = failing_app(tmp_path, trusted_clients=["192.168.1.0/24"])
    with LocalClient(app, client=client, raise_server_exceptions=False) as other:
        details = json.loads(ERROR_JSON.findall(other.get("/boom", headers=BROWSER).text)[0])
    assert details["kind"] == "withheld"


@pytest.mark.parametrize("bad", ["192.168.1.300", "example.com", "10.0.0.0/33", 42])
def test_trusted_clients_must_be_addresses(tmp_path: Path, bad: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="trusted_clients items"):
        FastHotReload(FastAPI(), watch_paths=tmp_path, trusted_clients=[bad])


def test_a_bad_trusted_clients_variable_is_an_error_at_construction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAST_HOT_RELOAD_TRUSTED_CLIENTS", "my-laptop")
    with pytest.raises(ValueError, match="FAST_HOT_RELOAD_TRUSTED_CLIENTS items are client IP addresses"):
        FastHotReload(FastAPI(), watch_paths=tmp_path)


def test_log_lines_and_python_errors_reach_trusted_clients_only(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n    password = 'hunter2'\n")
    app = page_app(tmp_path)
    with (
        LocalClient(app) as client,
        client.websocket_connect("/__hot_reload/ws") as mine,
        client.websocket_connect("/__hot_reload/ws", headers=FROM_LAN) as theirs,
    ):
        assert "withheld" not in mine.receive_json()
        hello = theirs.receive_json()
        assert "192.168.1.50" in hello["withheld"] and "trusted_clients" in hello["withheld"]
        logging.getLogger("app").error("connecting with password hunter2")
        assert "hunter2" in mine.receive_json()["text"]
        runtime = runtime_of(client)
        client.portal.call(python_changed, runtime.config, runtime.broadcaster, [str(broken)])  # type: ignore[union-attr]
        error = mine.receive_json()
        assert error["type"] == "error" and error["details"]["title"] == "SyntaxError"
        assert "hunter2" in json.dumps(error["details"]["source"])
        shown = theirs.receive_json()  # the log line never came: the withheld error is next
        assert shown["type"] == "error" and shown["details"]["kind"] == "withheld"
        assert "hunter2" not in json.dumps(shown) and "broken.py" not in json.dumps(shown)
        assert theirs.receive_json()["type"] == "restart"  # then the stream ends, as for everyone


# ---- responses stay as the app made them, but for the tag ----


def static_app(tmp_path: Path) -> FastAPI:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "page.html").write_text("<html><body><p>0123456789 static page</p></body></html>")
    app = FastAPI()
    app.mount("/static", StaticFiles(directory=tmp_path / "static"), name="static")
    inner = Starlette(routes=[Route("/boom", lambda request: 1 / 0)])
    app.mount("/sub", inner)

    @app.get("/ranged/page.html")
    def ranged(request: Request) -> Response:
        """The same file, answering one byte range by hand (StaticFiles does only from Starlette 0.39 on)."""
        body = (tmp_path / "static" / "page.html").read_bytes()
        headers = {"accept-ranges": "bytes", "etag": '"page-v1"'}
        found = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("range", ""))
        if not found:
            return HTMLResponse(body, headers=headers)
        start, end = int(found[1]), int(found[2] or len(body) - 1)
        headers["content-range"] = f"bytes {start}-{end}/{len(body)}"
        return HTMLResponse(body[start : end + 1], status_code=206, headers=headers)

    FastHotReload(app, watch_paths=tmp_path)
    return app


RANGED = [
    "/ranged/page.html",
    pytest.param(
        "/static/page.html",
        marks=pytest.mark.skipif(not STATIC_RANGES, reason="StaticFiles has ranges from Starlette 0.39"),
    ),
]


@pytest.mark.parametrize("path", RANGED)
def test_a_range_request_gets_the_files_own_bytes(tmp_path: Path, path: str) -> None:
    with LocalClient(static_app(tmp_path)) as client:
        part = client.get(path, headers={**BROWSER, "range": "bytes=0-9"})
        rest = client.get(path, headers={**BROWSER, "range": "bytes=10-"})
        whole = client.get(path, headers=BROWSER)
    original = (tmp_path / "static" / "page.html").read_bytes()
    assert part.status_code == 206 and part.content == original[:10]
    assert part.headers["content-length"] == "10" and part.headers["content-range"].startswith("bytes 0-9/")
    assert part.content + rest.content == original  # two ranges join into the file, not into one that never existed
    assert whole.status_code == 200 and b"/__hot_reload/client.js" in whole.content
    # the tagged page promises no ranges of itself, and its ETag is no longer the file's strong one
    assert "accept-ranges" not in whole.headers and whole.headers["etag"].startswith('W/"')


def test_a_multipart_range_is_untouched(tmp_path: Path) -> None:
    with LocalClient(static_app(tmp_path)) as client:
        parts = client.get("/static/page.html", headers={**BROWSER, "range": "bytes=0-3,10-13"})
    if parts.status_code == 206:  # Starlette answers several ranges from 0.39 on
        assert b"/__hot_reload" not in parts.content


@pytest.mark.parametrize("root_path", ["", "/app"])
def test_pages_of_mounts_point_at_the_apps_endpoints(tmp_path: Path, root_path: str) -> None:
    with LocalClient(static_app(tmp_path), raise_server_exceptions=False, root_path=root_path) as client:
        page = client.get(f"{root_path}/static/page.html", headers=BROWSER)
        error = client.get(f"{root_path}/sub/boom", headers=BROWSER)
    for text in (page.text, error.text):
        (src,) = re.findall(r'<script src="([^"]+)"', text)
        assert src.startswith(f"{root_path}/__hot_reload/client.js?h="), src


def test_a_huge_streamed_page_is_not_kept(tmp_path: Path) -> None:
    filler = b"x" * (64 * 1024)
    count = 400  # ~26 MB: well past the 1 MB a baseline may have

    def stream() -> Iterator[bytes]:
        yield b"<html><body>"
        for n in range(count):
            yield b"<p>%d" % n + filler + b"</p>"  # a new object each time, as a real stream's chunks are
        yield b"</body></html>"

    app = FastAPI()

    @app.get("/")
    def huge() -> StreamingResponse:
        return StreamingResponse(stream(), media_type="text/html")

    FastHotReload(app, watch_paths=tmp_path)
    tracemalloc.start()
    try:
        size = anyio.run(stream_through, app, "/", BROWSER)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > count * len(filler)
    assert peak < 8 * 1024 * 1024, f"{peak / 1e6:.1f} MB held while streaming {size / 1e6:.0f} MB"


# ---- which templates a page used, however the app sets up Jinja ----


@pytest.fixture
def docs_app_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An app folder as the FastAPI docs lay it out, and the working directory, as `uvicorn main:app` from it."""
    folder = tmp_path / "app"
    (folder / "templates" / "partials").mkdir(parents=True)
    (folder / "templates" / "base.html").write_text("<html><body>{% block body %}{% endblock %}</body></html>")
    (folder / "templates" / "index.html").write_text(
        '{% extends "base.html" %}{% block body %}{% include "partials/form.html" %}{% endblock %}'
    )
    (folder / "templates" / "partials" / "form.html").write_text("<form></form>")
    (folder / "pkg").mkdir()
    (folder / "pkg" / "__init__.py").write_text("")
    (folder / "pkg" / "templates").mkdir()
    for name in ("base.html", "index.html", "partials"):
        source = folder / "templates" / name
        target = folder / "pkg" / "templates" / name
        if source.is_dir():
            target.mkdir()
            (target / "form.html").write_text((source / "form.html").read_text())
        else:
            target.write_text(source.read_text())
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    return folder


SETUPS = {
    "relative str": lambda folder: Jinja2Templates(directory="templates"),
    "relative Path": lambda folder: Jinja2Templates(directory=Path("templates")),
    "absolute str": lambda folder: Jinja2Templates(directory=str(folder / "templates")),
    "absolute Path": lambda folder: Jinja2Templates(directory=folder / "templates"),
    "a list": lambda folder: Jinja2Templates(directory=["elsewhere", "templates"]),
    "FileSystemLoader": lambda folder: Jinja2Templates(
        env=jinja2.Environment(loader=jinja2.FileSystemLoader("templates"))
    ),
    "ChoiceLoader": lambda folder: Jinja2Templates(
        env=jinja2.Environment(
            loader=jinja2.ChoiceLoader([jinja2.DictLoader({}), jinja2.FileSystemLoader(["nowhere", "templates"])])
        )
    ),
    "PackageLoader": lambda folder: Jinja2Templates(env=jinja2.Environment(loader=jinja2.PackageLoader("pkg"))),
}


@pytest.mark.parametrize("setup", SETUPS)
def test_a_page_names_its_templates_however_jinja_is_set_up(docs_app_folder: Path, setup: str) -> None:
    templates = SETUPS[setup](docs_app_folder)
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "index.html", {})

    @app.get("/form", response_class=HTMLResponse)
    def form(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "partials/form.html", {})

    FastHotReload(app)  # the working directory: the app's folder
    with LocalClient(app) as client:
        page = client.get("/", headers=BROWSER).text
        fragment = client.get("/form", headers={"accept": "text/html", "hx-request": "true"})
    (names,) = re.findall(r'data-templates="([^"]+)"', page)
    shown = "pkg/templates" if setup == "PackageLoader" else "templates"
    expected = [f"{shown}/base.html", f"{shown}/index.html", f"{shown}/partials/form.html"]
    assert json.loads(names.replace("&quot;", '"')) == expected
    assert json.loads(fragment.headers["x-hot-reload-templates"]) == [f"{shown}/partials/form.html"]
