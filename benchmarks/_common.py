"""Shared pieces: real uvicorn servers on free ports, condition waits, statistics, result rows."""

from __future__ import annotations

import importlib.util
import math
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests._support import waiting
from tests._support.servers import free_port, stop_group

HERE = Path(__file__).parent
APPS = HERE / "apps"
PAGE = APPS / "page"  # templates/, static/ and page.py: the same page for every app
WS_PATHS = {"fhr": "/__hot_reload/ws", "bare": "/__hot_reload/ws", "arel": "/hot-reload"}
SSE_PATH = "/__hot_reload/events"
BURST_FILES = 100  # templates/burst/part-NNN.html, rewritten all at once by figure 7
VENDOR = HERE.parent / "tests" / ".vendor"  # htmx and Alpine, fetched from npm by `bash tests/vendor`
VENDORED = ("htmx2.min.js", "alpine.min.js")


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.005, what: str = "") -> Any:
    """The tests' wait_for, polled more often, raising TimeoutError (a figure counts a miss, a test fails)."""
    try:
        return waiting.wait_for(condition, timeout, interval, what)
    except AssertionError as exc:
        raise TimeoutError(str(exc)) from None


@dataclass
class Server:
    """A real `uvicorn main:app` process serving a copy of one app folder."""

    name: str
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def api(self, timeout: float = 2.0) -> dict[str, Any] | None:
        try:
            response = httpx.get(self.url + "/api", timeout=timeout)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def worker(self) -> psutil.Process:
        """The process that serves requests: uvicorn's spawned child under --reload, else uvicorn itself."""
        parent = psutil.Process(self.process.pid)
        children = [c for c in parent.children() if "resource_tracker" not in " ".join(c.cmdline())]
        return children[-1] if children else parent

    def replace(self, relative: str, old: str, new: str) -> float:
        """Save the file with `old` replaced by `new`; returns the wall-clock time just before the write."""
        path = self.root / relative
        text = path.read_text()
        if old not in text:
            raise ValueError(f"{old!r} is not in {relative}")
        text = text.replace(old, new)
        start = time.time()
        path.write_text(text)
        return start

    def stop(self) -> None:
        stop_group(self.process, timeout=15)

    def interrupt(self) -> float:
        """Ctrl+C in the server's terminal (SIGINT to its process group); seconds until the server exited."""
        start = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            return math.inf
        return time.monotonic() - start


def save_python(server: Server, i: int) -> tuple[float, float]:
    """Save main.py with MESSAGE python-v{i+1} -> python-v{i+2} under `uvicorn --reload`.

    Returns (time of the write, time the restarted server first answered /api with the new message).
    Probes go every 5 ms; during the restart they queue in the listen backlog, which uvicorn's reloader
    keeps open, so the first new answer arrives as soon as the new worker serves.
    """
    new = f"python-v{i + 2}"
    start = server.replace("main.py", f"python-v{i + 1}", new)
    up = wait_for(lambda: (a := server.api(5.0)) and a["message"] == new and time.time(), 30, what="restart")
    return start, float(up)


SERVERS = ("uvicorn", "fastapi", "uvicorn.run", "hypercorn", "granian")  # figure 8: every dev server, with --reload
GRANIAN_QUIET = ("--reload-ignore-dirs", "templates", "--reload-ignore-dirs", "static")  # as our startup warning says


def command_line(command: str, port: int, root: Path, reload: bool, access_log: bool) -> list[str]:
    """`main:app` on 127.0.0.1:`port` under `command`, as each server's README runs it (figure 8)."""
    host = "127.0.0.1"
    if command == "fastapi":  # FastAPI forwards `python -m fastapi` to fastapi-cli from 0.111 on
        cli = "fastapi" if importlib.util.find_spec("fastapi.__main__") else "fastapi_cli"
        return [sys.executable, "-m", cli, "dev", "main.py", "--host", host, "--port", str(port)]
    if command == "uvicorn.run":
        return [
            sys.executable,
            "-c",
            f"import uvicorn; uvicorn.run('main:app', host='{host}', port={port}, reload=True)",
        ]
    if command == "hypercorn":
        return [sys.executable, "-m", "hypercorn", "main:app", "--bind", f"{host}:{port}", "--reload"]
    if command == "granian":
        args = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", host, "--port", str(port)]
        return [*args, "--reload", *GRANIAN_QUIET, "main:app"]
    args = [sys.executable, "-m", "uvicorn", "main:app", "--host", host, "--port", str(port)]
    if reload:
        args += ["--reload", "--reload-dir", str(root)]
    if not access_log:
        args.append("--no-access-log")
    return args


@contextmanager
def serve(
    app: str,
    workdir: Path,
    *,
    reload: bool = True,
    access_log: bool = True,
    env: dict[str, str] | None = None,
    command: str = "uvicorn",
) -> Iterator[Server]:
    """Copy apps/<app>/main.py and the shared page into a fresh folder and run uvicorn (or `command`) there,
    `env` added.

    The server leads a process group of its own, so that Ctrl+C can be sent to it and its workers alone.
    """
    root = Path(tempfile.mkdtemp(prefix=f"{app}-", dir=workdir))  # unique, even for many servers of one app
    shutil.copytree(PAGE, root, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    shutil.copy(APPS / app / "main.py", root / "main.py")
    (root / "assets" / "vendor").mkdir(parents=True)
    for name in VENDORED:
        if not (VENDOR / name).is_file():
            raise RuntimeError(f"{VENDOR / name} is missing: run `bash tests/vendor` (it fetches htmx and Alpine)")
        shutil.copy(VENDOR / name, root / "assets" / "vendor" / name)
    burst = root / "templates" / "burst"
    burst.mkdir()
    for i in range(BURST_FILES):
        (burst / f"part-{i:03d}.html").write_text(f"<p>part {i} v0</p>\n")
    port = free_port()
    args = command_line(command, port, root, reload, access_log)
    env = {**{k: v for k, v in os.environ.items() if k != "FAST_HOT_RELOAD"}, "PYTHONUNBUFFERED": "1", **(env or {})}
    log_path = workdir / f"{root.name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(app, root, port, process, log_path)
    try:
        wait_for(lambda: server.api() or process.poll() is not None, timeout=30, what=f"{app} to answer")
        if process.poll() is not None:
            raise RuntimeError(f"{app} did not start:\n{server.log()}")
        yield server
    finally:
        server.stop()


class Clients:
    """A `_clients.py` process holding many websocket and SSE connections to one server."""

    def __init__(self, server: Server, ws: int, sse: int, *, ws_path: str, sse_path: str, hello: bool = True) -> None:
        base = f"127.0.0.1:{server.port}"
        args = [sys.executable, str(HERE / "_clients.py"), "--ws", str(ws), "--sse", str(sse)]
        args += ["--ws-url", f"ws://{base}{ws_path}", "--sse-url", f"http://{base}{sse_path}"]
        if not hello:
            args.append("--no-hello")
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        """The next line starting with `prefix` (other lines are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"clients did not say {prefix!r} within {timeout:g} s") from None
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def clients(server: Server, ws: int, sse: int, *, hello: bool = True) -> Iterator[Clients]:
    fleet = Clients(server, ws, sse, ws_path=WS_PATHS[server.name], sse_path=SSE_PATH, hello=hello)
    try:
        yield fleet
    finally:
        fleet.close()


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Row:
    """One line of the result table."""

    figure: str
    ours: str
    peer: str
    ratio: str
    target: str
    met: bool | None  # None: informational, no target

    def cells(self) -> list[str]:
        verdict = "—" if self.met is None else ("yes" if self.met else "**no**")
        return [self.figure, self.ours, self.peer, self.ratio, self.target, verdict]


def ms(seconds: float) -> str:
    if math.isinf(seconds):
        return "never"
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def ratio(ours: float, peer: float) -> float:
    return ours / peer if peer and not math.isnan(peer) and not math.isinf(peer) else math.nan


def times(ours: float, peer: float, digits: int = 2) -> str:
    """The ratio as shown in the table: 'n/a' when either side never happened."""
    value = ratio(ours, peer)
    return "n/a" if math.isnan(value) or math.isinf(value) or math.isinf(peer) else f"{value:.{digits}f}x"


def table(rows: Sequence[Row]) -> str:
    header = ["figure", "fast-hot-reload", "arel or baseline", "ratio", "target", "met"]
    lines = [header, ["---"] * len(header), *(row.cells() for row in rows)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
