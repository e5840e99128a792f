"""The Tailwind CLI (v3, fetched by tests/vendor) watching tests/apps/tailwind's src/tw.css, or its build simulated."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .vendor import VENDOR
from .waiting import wait_for

if TYPE_CHECKING:
    from .servers import Server

CLI = VENDOR / "tailwind" / "node_modules" / "tailwindcss" / "lib" / "cli.js"
BUILT = "static/out.css"


@contextmanager
def tailwind_watch(server: Server) -> Iterator[bool]:
    """Run `tailwindcss --watch` on the app while the block runs; yields False when there is no CLI to run.

    Returns only once the CLI's first build has reached the server's watcher, so that it is no event of the test's.
    """
    node = shutil.which("node")
    if node is None or not CLI.is_file():
        yield False
        return
    process = subprocess.Popen(
        [node, str(CLI), "-i", "src/tw.css", "-o", BUILT, "--watch"],
        cwd=server.root,
        stdin=subprocess.PIPE,  # the CLI ends when its stdin closes
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # its first build rewrites the committed copy (a comment line differs): that event comes before the test
        wait_for(lambda: BUILT in server.log() or process.poll() is not None, timeout=30, what="Tailwind's first build")
        assert process.poll() is None, "the Tailwind CLI ended"
        yield True
    finally:
        assert process.stdin is not None
        process.stdin.close()  # the CLI's way to stop
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def build(server: Server, running: bool, old: str, new: str) -> None:
    """What the CLI writes after src/tw.css changed, when no CLI runs to write it."""
    if not running:
        server.edit(BUILT, old, new)
