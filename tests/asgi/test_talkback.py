"""What a tab sends back, at the endpoints: its console lines (trusted clients, a page id of ours, our origin, a
small JSON body, an allowance per tab), an alt+click's template line and a link to the editor (loopback only, files
under the watched folders: no traversal, no symlink out)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from fast_hot_reload import FastHotReload

from .._support.clients import LocalClient
from .._support.editor import RecordingEditor
from .._support.waiting import wait_for

BROWSER = {"accept": "text/html", "sec-fetch-dest": "document"}
JSON = {"origin": "http://localhost", "content-type": "application/json"}
PAGE_ID = re.compile(r'data-page="([0-9a-f]{32})"')
LAN = {"x-test-client": "192.168.1.50"}
ENTRY = {"level": "error", "kind": "console", "message": "boom", "at": "/static/app.js:3:9"}
INDEX = """<!doctype html>
<html><body>
  <h1 id="title">{{ title }}</h1>
  {% include "part.html" %}
</body></html>
"""


@pytest.fixture(autouse=True)
def _env(env_unset: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAST_HOT_RELOAD_TRUSTED_CLIENTS", raising=False)


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RecordingEditor:
    recording = RecordingEditor(tmp_path / "editor")
    for name, value in recording.env.items():
        monkeypatch.setenv(name, value)
    return recording


def make_app(root: Path, **options: Any) -> FastAPI:
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "static").mkdir(exist_ok=True)
    (root / "templates" / "index.html").write_text(INDEX)
    (root / "templates" / "part.html").write_text('<footer>\n  <p class="small">made here</p>\n</footer>\n')
    (root / "static" / "app.js").write_text("console.error('x');\n")
    app = FastAPI()
    app.mount("/assets", StaticFiles(directory=str(root / "static")), name="static")
    templates = Jinja2Templates(directory=str(root / "templates"))

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "index.html", {"title": "Home"})

    FastHotReload(app, watch_paths=root, **options)
    return app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[LocalClient]:
    with LocalClient(make_app(tmp_path / "app")) as local:
        yield local


def page_id(client: LocalClient, headers: dict[str, str] | None = None) -> str:
    return PAGE_ID.findall(client.get("/", headers={**BROWSER, **(headers or {})}).text)[0]


def browser_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "fast_hot_reload.browser"]


# ---- the console ----


def test_a_console_line_is_logged_once_as_one_line(client: LocalClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    evil = {**ENTRY, "level": "warn", "message": "two\nlines \x1b[31mred\u2028", "at": "/x.js:1:2\r\nFAKE LINE"}
    reply = client.post(
        "/__hot_reload/console", headers=JSON, json={"page": page_id(client), "path": "/", "entries": [ENTRY, evil]}
    )
    assert reply.status_code == 204
    records = browser_records(caplog)
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.ERROR, "browser console.error on /: boom  (at /static/app.js:3:9)"),
        (
            logging.WARNING,
            "browser console.warn on /: two\\nlines \\x1b[31mred\\x2028  (at /x.js:1:2\\x0d\\nFAKE LINE)",
        ),
    ]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (LAN, 403),  # not this machine, not trusted
        ({"origin": "http://evil.test"}, 403),
        ({"origin": "http://localhost:3000"}, 403),  # another dev server of this machine is another site
        ({"origin": "null"}, 403),
        ({"content-type": "text/plain"}, 415),  # what a form or a no-cors fetch can send
    ],
)
def test_a_console_line_from_elsewhere_is_refused(
    client: LocalClient, caplog: pytest.LogCaptureFixture, headers: dict[str, str], status: int
) -> None:
    page = page_id(client, LAN if headers is LAN else None)
    reply = client.post("/__hot_reload/console", headers={**JSON, **headers}, json={"page": page, "entries": [ENTRY]})
    assert reply.status_code == status
    assert browser_records(caplog) == []


def test_no_origin_no_line(client: LocalClient, caplog: pytest.LogCaptureFixture) -> None:
    body = {"page": page_id(client), "entries": [ENTRY]}
    assert (
        client.post("/__hot_reload/console", headers={"content-type": "application/json"}, json=body).status_code == 403
    )
    assert client.get("/__hot_reload/console").status_code == 405  # no simple GET does anything
    assert browser_records(caplog) == []


def test_a_trusted_client_may_report(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with LocalClient(make_app(tmp_path, trusted_clients=["192.168.1.0/24"])) as client:
        reply = client.post(
            "/__hot_reload/console", headers={**JSON, **LAN}, json={"page": page_id(client, LAN), "entries": [ENTRY]}
        )
    assert reply.status_code == 204 and len(browser_records(caplog)) == 1


@pytest.mark.parametrize("page", [None, "", "0" * 32, "f" * 31, 12, ["x"], "../../etc/passwd", "A" * 5000])
def test_a_page_id_not_ours_is_refused(client: LocalClient, caplog: pytest.LogCaptureFixture, page: Any) -> None:
    page_id(client)
    reply = client.post("/__hot_reload/console", headers=JSON, json={"page": page, "entries": [ENTRY]})
    assert reply.status_code == 404 and browser_records(caplog) == []


def test_another_clients_page_id_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with LocalClient(make_app(tmp_path, trusted_clients=["*"])) as client:
        theirs = page_id(client, LAN)
        reply = client.post("/__hot_reload/console", headers=JSON, json={"page": theirs, "entries": [ENTRY]})
    assert reply.status_code == 404 and browser_records(caplog) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b"[" * 5000 + b"]" * 5000,  # deeper than the parser goes
        b'{"page": "%s", "entries": {"a": 1}}',
        b'{"page": "%s", "entries": [1]}',
        b'{"page": "%s", "entries": [], "dropped": -1}',
        b'{"page": "%s", "entries": [], "dropped": true}',
        b'{"page": "%s", "entries": [' + b",".join([b"{}"] * 21) + b"]}",  # more than a tab sends at once
        b"\xff\xfe garbage",
    ],
    ids=lambda body: body[:40].decode("latin-1"),
)
def test_a_malformed_report_is_a_400_and_nothing_more(
    client: LocalClient, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    content = body.replace(b"%s", page_id(client).encode()) if b"%s" in body else body
    reply = client.post("/__hot_reload/console", headers=JSON, content=content)
    assert reply.status_code == 400 and browser_records(caplog) == []


def test_an_oversize_body_is_refused_unread(client: LocalClient, caplog: pytest.LogCaptureFixture) -> None:
    page = page_id(client)
    big = {"page": page, "entries": [{**ENTRY, "message": "x" * 20000}]}
    assert client.post("/__hot_reload/console", headers=JSON, json=big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it comes
        yield b'{"page": "' + page.encode() + b'", "entries": [], "pad": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    assert client.post("/__hot_reload/console", headers=JSON, content=chunks()).status_code == 413
    assert client.post("/__hot_reload/console", headers={**JSON, "content-length": "x"}, content=b"{}").status_code in (
        400,
        413,
    )
    assert browser_records(caplog) == []


def test_a_long_message_is_cut(client: LocalClient, caplog: pytest.LogCaptureFixture) -> None:
    entry = {**ENTRY, "message": "y" * 5000}
    assert (
        client.post(
            "/__hot_reload/console", headers=JSON, json={"page": page_id(client), "entries": [entry]}
        ).status_code
        == 204
    )
    (record,) = browser_records(caplog)
    assert len(record.getMessage()) < 1100 and record.getMessage().count("y") == 999


def test_a_flood_is_held_to_the_tabs_allowance(client: LocalClient, caplog: pytest.LogCaptureFixture) -> None:
    page = page_id(client)
    statuses = [
        client.post("/__hot_reload/console", headers=JSON, json={"page": page, "entries": [ENTRY] * 20}).status_code
        for _ in range(50)
    ]
    client.post("/__hot_reload/console", headers=JSON, json={"page": page, "entries": [], "dropped": 5000})
    lines = [r.getMessage() for r in browser_records(caplog)]
    said = [line for line in lines if "dropped" in line]
    assert 40 <= len(lines) - len(said) <= 45  # a burst of 40 and what refilled meanwhile, of 1000 sent
    assert statuses.count(429) >= 45
    # said as it began, then at most every half second: the tab's own count of 5000 waits for the next one
    assert 1 <= len(said) <= 2 and re.match(r"browser: \d+ console lines dropped on \? \(a tab sends", said[0]), said
    other = page_id(client)  # another tab has an allowance of its own
    assert (
        client.post("/__hot_reload/console", headers=JSON, json={"page": other, "entries": [ENTRY]}).status_code == 204
    )


def test_forward_console_off_has_no_endpoint(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path, forward_console=False)) as client:
        reply = client.post("/__hot_reload/console", headers=JSON, json={"page": page_id(client), "entries": [ENTRY]})
        assert reply.status_code == 404
        assert '"forwardConsole": false' in client.get("/__hot_reload/client.js").text


def test_a_rebound_host_gets_nothing(tmp_path: Path) -> None:
    with LocalClient(make_app(tmp_path), base_url="http://evil.test") as client:
        reply = client.post(
            "/__hot_reload/console", headers={**JSON, "origin": "http://evil.test"}, json={"entries": []}
        )
        assert reply.status_code == 403


# ---- the editor ----


def open_file(client: LocalClient, page: str, headers: dict[str, str] | None = None, **target: Any) -> Any:
    return client.post(
        "/__hot_reload/open", headers={**JSON, **(headers or {})}, json={"page": page, "line": 2, **target}
    )


def test_a_file_under_the_watched_folder_opens_at_its_line(
    client: LocalClient, tmp_path: Path, editor: RecordingEditor
) -> None:
    reply = open_file(client, page_id(client), file="templates/index.html", column=5)
    assert reply.status_code == 204
    wait_for(editor.calls, what="the editor started")
    assert editor.calls() == [["-g", f"{(tmp_path / 'app/templates/index.html').resolve()}:2:5"]]


def test_a_script_url_opens_the_file_its_static_mount_serves(
    client: LocalClient, tmp_path: Path, editor: RecordingEditor
) -> None:
    assert open_file(client, page_id(client), url="/assets/app.js").status_code == 204
    wait_for(editor.calls, what="the editor started")
    assert editor.calls()[0][1] == f"{(tmp_path / 'app/static/app.js').resolve()}:2:1"
    assert open_file(client, page_id(client), url="/assets/../../etc/passwd").status_code == 404


@pytest.mark.parametrize(
    "file",
    [
        "../outside.txt",
        "templates/../../outside.txt",
        "/etc/passwd",
        str(Path("/etc/passwd")),
        "link/secret.txt",
        "escape.txt",
        "templates",
        "missing.html",
        "templates\\..\\..\\outside.txt",
        "C:/x",
        "",
        None,
        7,
        "x\x00y",
    ],
)
def test_nothing_outside_the_watched_folder_opens(tmp_path: Path, editor: RecordingEditor, file: Any) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (tmp_path / "outside.txt").write_text("secret")
    app = make_app(tmp_path / "app")
    os.symlink(outside, tmp_path / "app" / "link")  # a symlinked folder out of the watched one
    os.symlink(outside / "secret.txt", tmp_path / "app" / "escape.txt")
    with LocalClient(app) as client:
        assert open_file(client, page_id(client), file=file).status_code == 404
    assert editor.calls() == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [(LAN, 403), ({"origin": "http://evil.test"}, 403), ({"content-type": "text/plain"}, 415)],
)
def test_only_this_machines_pages_open_the_editor(
    tmp_path: Path, editor: RecordingEditor, headers: dict[str, str], status: int
) -> None:
    with LocalClient(make_app(tmp_path, trusted_clients=["*"])) as client:  # trusted with logs, not with the editor
        page = page_id(client, LAN if headers is LAN else None)
        assert open_file(client, page, headers, file="templates/index.html").status_code == status
        assert open_file(client, "0" * 32, file="templates/index.html").status_code == 404
        assert client.get("/__hot_reload/open?file=templates/index.html").status_code == 405
    assert editor.calls() == []


def test_no_editor_says_how_to_set_one(client: LocalClient, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAST_HOT_RELOAD_EDITOR", "VISUAL", "EDITOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "")
    reply = open_file(client, page_id(client), file="templates/index.html")
    assert reply.status_code == 501 and "VISUAL or EDITOR" in reply.text


# ---- alt+click ----


def element(tag: str, text: str = "", **attributes: str) -> dict[str, Any]:
    return {"tag": tag, "text": text, "attributes": attributes}


def test_an_element_is_found_in_the_templates_its_page_rendered(client: LocalClient) -> None:
    page = page_id(client)
    find = lambda *chain: client.post("/__hot_reload/locate", headers=JSON, json={"page": page, "chain": list(chain)})  # noqa: E731
    assert find(element("h1", "Home", id="title")).json() == {
        "file": "templates/index.html",
        "line": 3,
        "column": 3,
        "depth": 0,
    }
    assert find(element("p", "made here", **{"class": "small"})).json()["file"] == "templates/part.html"  # the include
    built = find(element("canvas", "", id="chart"), element("footer"))
    assert built.json() == {"file": "templates/part.html", "line": 1, "column": 1, "depth": 1}  # a script's: its parent
    assert find(element("canvas")).status_code == 404
    assert client.post("/__hot_reload/locate", headers=JSON, json={"page": page, "chain": "h1"}).status_code == 400
    assert (
        client.post("/__hot_reload/locate", headers={**JSON, **LAN}, json={"page": page, "chain": []}).status_code
        == 403
    )
