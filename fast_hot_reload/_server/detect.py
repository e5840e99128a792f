"""Which server runs us, and whether it is stopping or about to restart."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

# after a Python save, under a reloader we cannot see: longer than hypercorn's 1 s poll plus its worker's stop
SAVE_GRACE = 3.0
OWN_RELOADERS = ("hypercorn", "granian")  # servers whose command line says whether their reloader runs
# set by our runner (`fast-hot-reload main:app`): "swap" while it reruns Python files and swaps the app in place,
# "restart" in its fallback (a new process per save, as `uvicorn --reload`)
RUNNER_ENV = "FAST_HOT_RELOAD_RUNNER"


def uvicorn_server() -> Any:
    """The running uvicorn Server, found through the SIGTERM handler it installs (a bound method), or None."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return server if hasattr(server, "should_exit") else None


def runner_swaps() -> bool:
    """Whether our runner serves this app and swaps it in place on a Python save: the Python files are its own."""
    return os.environ.get(RUNNER_ENV) == "swap"


def under_runner() -> bool:
    return os.environ.get(RUNNER_ENV) in ("swap", "restart")


def under_uvicorn_hmr() -> bool:
    """uvicorn-hmr: it reruns the changed modules and restarts the server in place (no new process)."""
    return program() == "uvicorn-hmr"


def uvicorn_hmr_refresh() -> bool:
    """uvicorn-hmr's `--refresh` (or its old name `--reload`): its own page refresher, on top of ours."""
    return under_uvicorn_hmr() and any(arg in ("--refresh", "--reload") for arg in sys.argv[1:])


def server_exiting() -> bool:
    """True once uvicorn (the server whose bound method handles SIGTERM) has been told to exit."""
    return getattr(uvicorn_server(), "should_exit", False) is True


def restart_expected_on_save() -> bool:
    """Whether a Python save is likely to make a reloader stop this process, so that our streams must end first.

    uvicorn tells us itself (its signal is chained: no guess needed). hypercorn and granian run their
    reloader only with `--reload`; for any other server we cannot tell, and end the streams for a moment.
    """
    if uvicorn_server() is not None:
        return False  # uvicorn's own stop signal ends them, a few ms later, and only when it really stops
    return own_reloader_on() if program() in OWN_RELOADERS else True


def program() -> str:
    """The server's command (`granian`, `hypercorn`, ...): workers get the command line of their parent."""
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    return os.path.basename(os.path.dirname(sys.argv[0])) if name == "__main__.py" else name  # python -m granian


def own_reloader_on() -> bool:
    """`--reload` on the command line (or granian's variable for it), and no `--no-reload` after it."""
    argv = [arg for arg in sys.argv if arg in ("--reload", "--no-reload")]
    if argv:
        return argv[-1] == "--reload"
    return program() == "granian" and os.environ.get("GRANIAN_RELOAD", "").lower() in ("1", "true", "yes", "on")
