"""Real server processes (uvicorn, `fastapi dev`, hypercorn, granian, gunicorn) serving a copy of an app folder
of tests/apps: the command lines, the process, its log. The `serve` fixture (conftest.py) starts them."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from . import TESTS

APPS = TESTS / "apps"
# `fastapi dev` is fastapi-cli's; FastAPI forwards `python -m fastapi` to it from 0.111 on
FASTAPI_CLI = "fastapi" if importlib.util.find_spec("fastapi.__main__") else "fastapi_cli"
SERVERS = ("uvicorn", "fastapi", "uvicorn.run", "hypercorn", "granian", "gunicorn", "fast-hot-reload", "uvicorn-hmr")
# the module each server needs (its own name where none is given)
SERVER_MODULES = {
    "uvicorn.run": "uvicorn",
    "fastapi": FASTAPI_CLI,
    "fast-hot-reload": "uvicorn",
    "uvicorn-hmr": "uvicorn_hmr",
}
BAD_LOG_LINES = ("Waiting for connections to close", "ERROR", "Traceback")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
        stop_group(self.process)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stop a server that leads a process group: SIGTERM, SIGKILL after `timeout`, then whatever it left behind."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # a worker its server left behind


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
    if command == "fast-hot-reload":  # our runner; it has no --reload: it always follows the files
        return [sys.executable, "-m", "fast_hot_reload._runner", "main:app", "--host", host, "--port", str(port)]
    if command == "uvicorn-hmr":  # its console script: it is how the plugin knows it (the program's name)
        return [str(Path(sys.executable).parent / "uvicorn-hmr"), "main:app", "--host", host, "--port", str(port)]
    if command == "gunicorn":
        args = [sys.executable, "-m", "gunicorn", "main:app", "-k", "uvicorn.workers.UvicornWorker"]
        return args + ["--bind", f"{host}:{port}", "--workers", str(workers)] + ["--reload"] * reload
    args = [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port), "--host", host]
    if workers > 1:
        return args + ["--workers", str(workers)]
    return args + ["--reload", "--reload-dir", str(root)] * reload


class UncleanLog(AssertionError):
    """The server logged an error, a traceback or a wait for connections (see `assert_clean_log`)."""


def assert_clean_log(server: Server, since: int = 0) -> None:
    """No ERROR, Traceback or "Waiting for connections to close" in the server log from offset `since` on."""
    log = server.log()[since:]
    if bad := [line for line in log.splitlines() if any(marker in line for marker in BAD_LOG_LINES)]:
        raise UncleanLog("\n".join(bad[:10]) + "\n--- full log ---\n" + log[-6000:])


def edit_python(server: Server, restart: int) -> None:
    """Change main.py so that uvicorn --reload restarts the worker (site and probe apps)."""
    server.edit("main.py", f'MESSAGE = "python-v{restart}"', f'MESSAGE = "python-v{restart + 1}"')
