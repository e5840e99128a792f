"""What a tab sends back: its console lines for the server's log, an alt+click to find, a file:line to open.

Each takes a POST of a small JSON object naming a page id we issued to that very client, from a page of this
server (its Origin checked, the port included, as the websocket's), from loopback or a trusted client for the
log, from loopback alone for the editor. A simple GET, a form or a `no-cors` fetch of another site's page gets
nothing done: the Origin and the JSON content type are required.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.staticfiles import StaticFiles

from .._config import Config
from .editor import NO_EDITOR, editor_argv, launch, resolve
from .hosts import origin_allowed
from .locate import locate
from .report import log_report
from .runtime import STATE_KEY, Runtime
from .tabs import Tab
from .trust import client_address

logger = logging.getLogger("fast_hot_reload.editor")

MAX_BODY = 16 * 1024  # bytes of one report, alt+click or link: more is refused unread
NOT_LOOPBACK = "only a browser on the server's own machine may open its editor"


class Refused(Exception):
    def __init__(self, status: int, text: str = "") -> None:
        self.response = PlainTextResponse(text, status_code=status, headers={"Cache-Control": "no-store"})


def add_talkback_routes(router: APIRouter, config: Config) -> None:
    prefix = config.url_prefix

    async def console(request: Request) -> Response:
        try:
            runtime, tab, body = await _checked(request, config, loopback_only=False, wanted=config.forward_console)
        except Refused as refused:
            return refused.response
        outcome = log_report(tab, body)
        if outcome is None:
            return Response(status_code=400)
        return Response(status_code=204 if outcome else 429)

    async def find(request: Request) -> Response:
        try:
            runtime, tab, body = await _checked(request, config, loopback_only=True)
        except Refused as refused:
            return refused.response
        chain = body.get("chain")
        if not isinstance(chain, list):
            return Response(status_code=400)
        found = locate(chain, _templates(runtime, tab))
        if found is None:
            return Response(status_code=404)
        shown = runtime.template_paths([str(found.file)])
        return JSONResponse({"file": shown[0], "line": found.line, "column": found.column, "depth": found.depth})

    async def open_editor(request: Request) -> Response:
        try:
            runtime, _, body = await _checked(request, config, loopback_only=True)
        except Refused as refused:
            return refused.response
        line, column = body.get("line", 1), body.get("column", 1)
        if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 10**7 for n in (line, column)):
            return Response(status_code=400)
        url = body.get("url")
        roots = config.roots
        file = _url_file(request, url, roots) if isinstance(url, str) else resolve(body.get("file"), roots)
        if file is None:
            return PlainTextResponse("not a file under the watched folders", status_code=404)
        argv = editor_argv(file, max(line, 1), max(column, 1))
        if argv is None:
            logger.warning(NO_EDITOR)
            return PlainTextResponse(NO_EDITOR, status_code=501)
        failed = launch(argv)
        if failed is not None:
            return PlainTextResponse(failed, status_code=502)
        logger.info("opened %s:%d in %s", file, line, os.path.basename(argv[0]))
        return Response(status_code=204)

    router.add_route(prefix + "/console", console, methods=["POST"], include_in_schema=False)
    router.add_route(prefix + "/locate", find, methods=["POST"], include_in_schema=False)
    router.add_route(prefix + "/open", open_editor, methods=["POST"], include_in_schema=False)


async def _checked(
    request: Request, config: Config, loopback_only: bool, wanted: bool = True
) -> tuple[Runtime, Tab, dict[str, Any]]:
    """The runtime, the tab and the JSON object of a request that passes every check; Refused otherwise."""
    runtime: Runtime | None = request.scope.get("state", {}).get(STATE_KEY)
    if runtime is None or not wanted:
        raise Refused(404)
    if loopback_only and not _loopback(request):
        raise Refused(403, NOT_LOOPBACK)
    if not loopback_only and not runtime.trust.trusted(request.scope):
        raise Refused(403)
    origin = request.headers.get("origin")
    secure = request.url.scheme == "https"
    if origin is None or not origin_allowed(origin, request.headers.get("host"), config.ws_host_override, secure):
        raise Refused(403)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise Refused(415)
    body = await _body(request)
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        raise Refused(400) from None
    if not isinstance(message, dict):
        raise Refused(400)
    tab = runtime.tabs.find(message.get("page"), client_address(request.scope))
    if tab is None:
        raise Refused(404)  # not a page of ours, or another client's; after a restart the tab learns a new one
    return runtime, tab, message


async def _body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise Refused(413)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise Refused(413)
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refused(400) from None
    return b"".join(chunks)


def _loopback(request: Request) -> bool:
    address = client_address(request.scope)
    try:
        ip = ipaddress.ip_address((address or "").strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _templates(runtime: Runtime, tab: Tab) -> list[Path]:
    """The page's template files that are under the watched folders, by their real paths."""
    files = []
    for file in list(tab.rendered or ()):
        shown = runtime.template_paths([file])
        found = resolve(shown[0], runtime.config.roots) if shown else None
        if found is not None:
            files.append(found)
    return files


def _url_file(request: Request, url: str, roots: tuple[Path, ...]) -> Path | None:
    """The file a URL path of this app serves from a StaticFiles mount, if it is under the watched folders."""
    path = url.removeprefix(request.scope.get("root_path", ""))
    app = request.scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", ()):
        static, mount = getattr(route, "app", None), getattr(route, "path", None)
        if not isinstance(static, StaticFiles) or not isinstance(mount, str) or not path.startswith(mount + "/"):
            continue
        for directory in static.all_directories:
            file = resolve(path[len(mount) + 1 :], [Path(directory).resolve()])
            if file is not None and resolve(_shown(file, roots), roots) == file:
                return file
    return resolve(path.lstrip("/"), roots)


def _shown(file: Path, roots: tuple[Path, ...]) -> str:
    for root in roots:
        real = Path(os.path.realpath(root))
        if real in file.parents:
            return file.relative_to(real).as_posix()
    return ""
