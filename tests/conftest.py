from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient, WebSocketTestSession

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
APPS = Path(__file__).parent / "apps"
VENDOR = Path(__file__).parent / ".vendor"  # htmx and Alpine, fetched from npm by tests/vendor (tests/run calls it)
VENDORED = ("htmx1.min.js", "htmx2.min.js", "alpine.min.js")


LOOPBACK_CLIENT = ("127.0.0.1", 50000)


class LocalClient(TestClient):
    """A TestClient addressed to `localhost` from a loopback address, as a browser on the developer's machine is.

    The hot reload endpoints refuse other hosts (DNS rebinding), and Starlette's default is `testserver`; error
    details and log lines go to loopback clients only, and Starlette's default client is `testclient`.
    `client=` gives another address (a phone on the LAN).
    """

    def __init__(
        self, app: Any, base_url: str = "http://localhost", client: tuple[str, int] = LOOPBACK_CLIENT, **kwargs: Any
    ) -> None:
        super().__init__(_from_client(app, client), base_url=base_url, **kwargs)

    def websocket_connect(self, url: str, *args: Any, **kwargs: Any) -> WebSocketTestSession:
        return super().websocket_connect(url if "://" in url else "ws://localhost" + url, *args, **kwargs)


def _from_client(app: Any, client: tuple[str, int]) -> Any:
    """`app` seeing requests from `client` (Starlette's TestClient names it only from 0.37 on), or from the address
    a request names in an `x-test-client` header: two browsers on one running app."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            named = next((v.decode() for k, v in scope["headers"] if k == b"x-test-client"), None)
            scope = {**scope, "client": (named, 50001) if named else client}
        await app(scope, receive, send)

    return asgi


# `fastapi dev` is fastapi-cli's; FastAPI forwards `python -m fastapi` to it from 0.111 on
FASTAPI_CLI = "fastapi" if importlib.util.find_spec("fastapi.__main__") else "fastapi_cli"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01, what: str = "") -> Any:
    """Poll `condition` until it returns something truthy, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


@dataclass
class Server:
    """A real server process (uvicorn, `fastapi dev`, hypercorn, granian...) serving an app folder copied into a
    temp dir. It leads a process group of its own, as a server started from a terminal does."""

    root: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def answers(self) -> bool:
        try:
            return httpx.get(self.url + "/", timeout=1.0).status_code < 500
        except httpx.HTTPError:
            return False

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new))

    def interrupt(self) -> None:
        """Ctrl+C in the server's terminal: SIGINT to every process of its group, workers included."""
        os.killpg(self.process.pid, signal.SIGINT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # a worker its server left behind


SERVERS = ("uvicorn", "fastapi", "uvicorn.run", "hypercorn", "granian", "gunicorn")


def server_args(command: str, port: int, root: Path, reload: bool, workers: int) -> list[str]:
    """The command line that runs `main:app` on 127.0.0.1:`port`, as each server's README shows it."""
    host = "127.0.0.1"
    if command == "fastapi":
        return [sys.executable, "-m", FASTAPI_CLI, "dev", "main.py", "--port", str(port), "--host", host]
    if command == "uvicorn.run":  # uvicorn.run("main:app", reload=True) in the app's own script
        script = f"import uvicorn; uvicorn.run('main:app', host='{host}', port={port}, reload={reload})"
        return [sys.executable, "-c", script]
    if command == "hypercorn":
        args = [sys.executable, "-m", "hypercorn", "main:app", "--bind", f"{host}:{port}", "--workers", str(workers)]
        return args + ["--reload"] * reload
    if command == "granian":
        args = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", host, "--port", str(port)]
        return args + ["--workers", str(workers)] + ["--reload"] * reload + ["main:app"]
    if command == "gunicorn":
        args = [sys.executable, "-m", "gunicorn", "main:app", "-k", "uvicorn.workers.UvicornWorker"]
        return args + ["--bind", f"{host}:{port}", "--workers", str(workers)] + ["--reload"] * reload
    args = [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port), "--host", host]
    if workers > 1:
        return args + ["--workers", str(workers)]
    return args + ["--reload", "--reload-dir", str(root)] * reload


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start an app from tests/apps/<name> under `uvicorn --reload`, or another server of SERVERS.

    The app folder is copied to a temp dir, which is the working directory and the only
    folder watched. Extra environment goes in `env`; `command="fastapi"` runs `fastapi dev`,
    `"hypercorn"`, `"granian"`, `"gunicorn"` those servers (with `--reload` unless `reload=False`),
    `"uvicorn.run"` a script calling `uvicorn.run(..., reload=True)`; `args` are added to the command line.
    """
    servers: list[Server] = []

    def start(
        app: str = "site",
        *,
        env: dict[str, str] | None = None,
        command: str = "uvicorn",
        reload: bool = True,
        workers: int = 1,
        args: Sequence[str] = (),
    ) -> Server:
        assert command in SERVERS, command
        module = {"uvicorn.run": "uvicorn", "fastapi": FASTAPI_CLI}.get(command, command)
        if importlib.util.find_spec(module) is None:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{module} is not installed: pip install -e '.[test]'")
            pytest.skip(f"{module} is not installed")
        source = APPS / app if not Path(app).is_absolute() else Path(app)  # an app of tests/apps, or a folder
        root = tmp_path / source.name
        if not root.exists():
            shutil.copytree(source, root, ignore=shutil.ignore_patterns("__pycache__"))
            if (source / "static").is_dir() and source.parent == APPS:
                vendor(root / "static" / "vendor")
        port = free_port()
        log_path = tmp_path / f"{source.name}-{port}.log"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*server_args(command, port, root, reload, workers), *args],
                cwd=root,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: Ctrl+C can be sent to it alone
            )
        server = Server(root, port, process, log_path, env or {})
        servers.append(server)
        wait_for(lambda: server.answers() or process.poll() is not None, timeout=30, what="the server to answer")
        assert process.poll() is None, server.log()
        return server

    yield start
    for server in servers:
        server.stop()


def vendor(folder: Path) -> None:
    """Copy the browser libraries into an app's static folder; missing ones mean tests/vendor has not run."""
    missing = [name for name in VENDORED if not (VENDOR / name).is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing from {VENDOR}: run `bash tests/vendor` (tests/run does)")
    folder.mkdir(parents=True, exist_ok=True)
    for name in VENDORED:
        shutil.copyfile(VENDOR / name, folder / name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright. Under CI=true a missing browser fails.

    Module-scoped: Playwright's sync API keeps an event loop running in this thread while it is
    open, which the async (anyio) tests of other modules could not start beside.
    """
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is not at {CHROMIUM}: install it (apt-get install -y chromium)")
        pytest.skip(f"Chromium is not at {CHROMIUM}; apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile: its tabs share one SharedWorker, like a real user's tabs."""
    ctx = browser.new_context()
    yield ctx
    ctx.close()
