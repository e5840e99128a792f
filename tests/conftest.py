"""The fixtures every test folder may use; the helpers they build on are in tests/_support."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ._support.browser import CHROMIUM, CHROMIUM_ARGS
from ._support.servers import APPS, SERVER_MODULES, SERVERS, Server, free_port, server_args
from ._support.vendor import vendor
from ._support.waiting import wait_for


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def env_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """The on/off switch unset, whatever the developer's shell has: `pytest.mark.usefixtures("env_unset")`."""
    monkeypatch.delenv("FAST_HOT_RELOAD", raising=False)


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
        module = SERVER_MODULES.get(command, command)
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
