"""The real-shaped app (tests/apps/real) under a real `uvicorn --reload`, with real clients: what the server says
and sends, the hosts it serves, the headers it adds, the paths its events carry."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from typing import Any

import httpx
import pytest

from .._support.clients import CONNECT_TIMEOUT, ERROR_JSON, STATIC_RANGES, listen
from .._support.servers import Server, assert_clean_log
from .._support.waiting import eventually

pytestmark = pytest.mark.anyio

STARTUP = "fast-hot-reload: watching"
COOKIES = {"session": "yes"}


def ws_handshake(server: Server, host: str, origin: str | None) -> bytes:
    """The status line a websocket handshake naming `host` (and `origin`) gets, as from a page on that domain."""
    request = (
        f"GET /__hot_reload/ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + (f"Origin: {origin}\r\n" if origin else "")
        + "\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=CONNECT_TIMEOUT) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).split(b"\r\n", 1)[0]


def sse_status(server: Server, host: str) -> int:
    with httpx.stream("GET", server.url + "/__hot_reload/events", headers={"host": host}, timeout=CONNECT_TIMEOUT) as r:
        return r.status_code


async def test_one_startup_line_and_no_access_lines_of_ours(serve: Any) -> None:
    server: Server = serve("real")
    async with (
        listen(server, "ws"),
        listen(server, "sse"),
        httpx.AsyncClient(timeout=CONNECT_TIMEOUT, cookies=COOKIES) as client,
    ):
        page = await client.get(server.url + "/", headers={"accept": "text/html"})
        assert (await client.get(server.url + "/__hot_reload/client.js")).status_code == 200
    await eventually(lambda: '"GET / HTTP/1.1" 200' in server.log(), what="the page's access line")
    log = server.log()
    assert log.count(STARTUP) == 1, log
    assert f"{server.root} (" in log and "websocket transport" in log
    assert "/__hot_reload/" not in log and "connection open" not in log, log  # the page's own line is there
    assert page.status_code == 200
    assert_clean_log(server)


async def test_editor_temp_files_never_appear_in_events(serve: Any) -> None:
    server: Server = serve("real")
    templates = server.root / "templates"
    async with listen(server, "ws") as listener:
        for name in ("index.html.tmp123", ".index.html.swp", "index.html~", "index.html.tmp.4567"):
            (templates / name).write_text("<p>editor scratch</p>")
        temp = templates / "index.html.tmp9876"  # an atomic save: write aside, then rename over the file
        temp.write_text((templates / "index.html").read_text().replace("home-v1", "home-v2"))
        os.replace(temp, templates / "index.html")
        event = await listener.next()
        while "templates/index.html" not in event["paths"]:
            assert event["paths"] == [], event  # nothing but the real file, ever
            event = await listener.next()
    assert event["paths"] == ["templates/index.html"], event


async def test_uvicorn_told_to_restart_for_templates_is_said_once(serve: Any) -> None:
    server: Server = serve("real", args=("--reload-include", "*.html"))
    await eventually(lambda: "--reload-include '*.html'" in server.log(), what="the warning")
    assert server.log().count("restarts the server when a template or static file is saved") == 1
    assert "drop it" in server.log()


async def test_static_files_get_no_cache_while_on_and_are_untouched_when_off(serve: Any) -> None:
    on: Server = serve("real")
    off: Server = serve("real", env={"FAST_HOT_RELOAD": "0"})
    for server, expected in ((on, "no-cache"), (off, None)):
        response = httpx.get(server.url + "/static/app.css", timeout=CONNECT_TIMEOUT)
        assert response.status_code == 200 and response.headers.get("cache-control") == expected
        assert "etag" in response.headers and "last-modified" in response.headers  # StaticFiles' own, kept
    # a response that says how to cache keeps what it says
    script = httpx.get(on.url + "/__hot_reload/client.js", timeout=CONNECT_TIMEOUT)
    assert script.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "app.localhost", "devbox.example"])
async def test_local_and_listed_hosts_get_a_hello(serve: Any, host: str) -> None:
    server: Server = serve("real", env={"FHR_ALLOWED_HOSTS": "devbox.example"})
    named = f"{host}:{server.port}"
    assert ws_handshake(server, named, f"http://{named}") == b"HTTP/1.1 101 Switching Protocols"
    assert sse_status(server, named) == 200


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "127.0.0.1.nip.io"])
async def test_a_rebound_domain_gets_no_hello_and_no_error_details(serve: Any, host: str) -> None:
    """A page on an attacker's domain that resolves to 127.0.0.1 sends its own name as Host and Origin."""
    server: Server = serve("real", env={"FHR_ALLOWED_HOSTS": "devbox.example"})
    named = f"{host}:{server.port}"
    assert ws_handshake(server, named, f"http://{named}").startswith(b"HTTP/1.1 403")
    assert sse_status(server, named) == 403
    page = httpx.get(
        server.url + "/api/boom", headers={"host": named, "accept": "text/html"}, cookies=COOKIES, timeout=5
    )
    assert page.status_code == 500 and page.text == "Internal Server Error"  # the app's own, no source lines
    await eventually(lambda: "allowed_hosts" in server.log(), what="the refusal's log line")
    assert server.log().count(f"refused a hot reload request for host '{host}'") == 1


LAN = {"x-forwarded-for": "192.168.1.50"}  # uvicorn trusts it from 127.0.0.1: the server sees a LAN client
PAGE_ID = re.compile(r'data-page="([0-9a-f]{32})"')
NAVIGATION = {"accept": "text/html", "sec-fetch-dest": "document"}


async def test_a_lan_client_gets_no_error_details_nor_log_lines_and_is_told_how(serve: Any) -> None:
    server: Server = serve("real")
    async with (
        httpx.AsyncClient(timeout=CONNECT_TIMEOUT, cookies=COOKIES) as client,
        listen(server, "ws") as mine,
        listen(server, "sse", headers=LAN) as theirs,
    ):
        assert "withheld" not in mine.hello
        assert "192.168.1.50" in theirs.hello["withheld"] and "trusted_clients" in theirs.hello["withheld"]
        # uvicorn closes a connection whose app raised, after our error page: a new one for each
        lan_page = await client.get(server.url + "/boom", headers={**NAVIGATION, **LAN, "connection": "close"})
        own_page = await client.get(server.url + "/boom", headers={**NAVIGATION, "connection": "close"})
        # the route's exception is logged by uvicorn: the developer's tab gets the line, the LAN client not
        line = await mine.next()
        assert line["type"] == "server-log" and "boom" in line["text"], line
        server.edit("templates/index.html", "home-v1", "home-v2")
        assert (await theirs.next())["type"] == "reload"  # the log line never came: the edit is next
    assert lan_page.status_code == 500 and "onerror" not in lan_page.text and "main.py" not in lan_page.text
    withheld = json.loads(ERROR_JSON.findall(lan_page.text)[0])
    assert withheld["kind"] == "withheld" and "192.168.1.50" in withheld["message"]
    details = json.loads(ERROR_JSON.findall(own_page.text)[0])
    assert details["title"] == "RuntimeError" and any(f["file"] == "main.py" for f in details["frames"])
    assert server.log().count("not sent to 192.168.1.50") == 1


async def test_a_baseline_goes_only_to_the_browser_that_got_the_page(serve: Any) -> None:
    server: Server = serve("real")
    async with httpx.AsyncClient(timeout=CONNECT_TIMEOUT, cookies=COOKIES) as client:
        page = (await client.get(server.url + "/", headers=NAVIGATION)).text
        (page_id,) = PAGE_ID.findall(page)
        baseline = f"{server.url}/__hot_reload/page/{page_id}"
        assert (await client.get(baseline, headers=LAN)).status_code == 404  # another client: as if unknown
        mine = await client.get(baseline)
        assert mine.status_code == 200 and mine.text == page
        assert (await client.get(baseline)).status_code == 404  # once


@pytest.mark.parametrize(
    "path",
    [
        "/ranged/page.html",
        pytest.param(
            "/static/page.html",
            marks=pytest.mark.skipif(not STATIC_RANGES, reason="StaticFiles has ranges from Starlette 0.39"),
        ),
    ],
)
async def test_range_requests_get_the_files_own_bytes(serve: Any, path: str) -> None:
    server: Server = serve("real")
    url = server.url + path
    original = (server.root / "static" / "page.html").read_bytes()
    async with httpx.AsyncClient(timeout=CONNECT_TIMEOUT) as client:
        first = await client.get(url, headers={**NAVIGATION, "range": "bytes=0-9"})
        rest = await client.get(url, headers={**NAVIGATION, "range": "bytes=10-"})
        whole = await client.get(url, headers=NAVIGATION)
    assert first.status_code == 206 and first.content == original[:10] and first.headers["content-length"] == "10"
    assert first.content + rest.content == original
    assert whole.status_code == 200 and whole.content != original and "accept-ranges" not in whole.headers
    if shutil.which("curl"):  # what the reporter ran
        curl = subprocess.run(["curl", "-s", "-r", "0-9", url], capture_output=True, check=True, timeout=10)
        assert curl.stdout == original[:10]


async def test_a_page_a_mount_serves_gets_the_apps_script(serve: Any) -> None:
    server: Server = serve("real")
    async with httpx.AsyncClient(timeout=CONNECT_TIMEOUT) as client:
        page = (await client.get(server.url + "/static/page.html", headers=NAVIGATION)).text
        (src,) = re.findall(r'<script src="([^"]+)"', page)
        assert src.startswith("/__hot_reload/client.js?h=")
        assert (await client.get(server.url + src)).status_code == 200
