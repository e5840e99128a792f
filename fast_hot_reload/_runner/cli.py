"""`fast-hot-reload main:app`: the options (uvicorn's names), and the mode: swap in place, or restart."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import logging.config
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .options import DEFAULT_EXCLUDES, DEFAULT_INCLUDES, RUNNER_ENV, Options, split_includes

if TYPE_CHECKING:
    from .serve import Runner

logger = logging.getLogger("fast_hot_reload.runner")

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
DESCRIPTION = (
    "Serve an ASGI app for development, like `uvicorn main:app --reload`, but a Python save reruns only the "
    "modules it changed (and those that import them) and swaps the app in place, without a restart."
)


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="fast-hot-reload", description=DESCRIPTION)
    cli.add_argument("app", metavar="MODULE:ATTRIBUTE", help="the app to serve, e.g. main:app")
    cli.add_argument("--host", default="127.0.0.1", help="bind to this host (default 127.0.0.1)")
    cli.add_argument("--port", type=_port, default=8000, help="bind to this port (default 8000)")
    cli.add_argument("--app-dir", default=".", help="look for the app's module in this folder (default: here)")
    cli.add_argument("--reload-dir", action="append", default=[], help="watch this folder (repeatable; default: here)")
    cli.add_argument("--reload-include", action="append", default=[], help="also react to files like this glob")
    cli.add_argument("--reload-exclude", action="append", default=[], help="ignore files like this glob")
    cli.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="the server's log level (default info)")
    cli.add_argument("--factory", action="store_true", help="the attribute is a function that returns the app")
    return cli


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give a number from 1 to 65535 (0: any free one)")
    return int(text)


def parse(argv: Sequence[str] | None = None) -> Options:
    cli = parser()
    args = cli.parse_args(argv)
    module, _, attr = args.app.partition(":")
    if not module or not attr or not all(part.isidentifier() for part in (*module.split("."), attr)):
        cli.error(f"{args.app!r} is not MODULE:ATTRIBUTE: give the module and the app's name in it, e.g. main:app")
    app_dir = Path(args.app_dir)
    if not app_dir.is_dir():
        cli.error(f"--app-dir {args.app_dir}: no such folder")
    for folder in args.reload_dir:
        if not Path(folder).is_dir():
            cli.error(f"--reload-dir {folder}: no such folder")
    sys.path.insert(0, str(app_dir.resolve()))  # as uvicorn does: the app's module is found there first
    if importlib.util.find_spec(module.split(".")[0]) is None:  # its top level only: a package must not import yet
        cli.error(f"module {module!r} not found in {app_dir.resolve()}: run from the app's folder, or give --app-dir")
    includes, left = split_includes(tuple(args.reload_include))
    if left:
        print(f"fast-hot-reload: {' '.join(left)}: the tabs show those files without a rerun; not reloaded for them")
    return Options(
        module=module,
        attr=attr,
        host=args.host,
        port=args.port,
        app_dir=app_dir,
        reload_dirs=tuple(Path(d) for d in args.reload_dir),
        includes=DEFAULT_INCLUDES + includes,
        excludes=DEFAULT_EXCLUDES + tuple(args.reload_exclude),
        log_level=args.log_level,
        factory=args.factory,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: parse, then serve with swaps in place (hmr), or with restarts where hmr cannot run."""
    options = parse(argv)
    try:
        import uvicorn
    except ImportError:
        sys.exit("fast-hot-reload: uvicorn not installed: pip install 'fast-hot-reload[hmr]'")
    from .loader import hmr_missing

    missing = hmr_missing()
    if missing is not None:
        from .restart import serve_restarting

        os.environ[RUNNER_ENV] = "restart"
        logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
        logging.getLogger("uvicorn.error").warning("fast-hot-reload: %s; restarting on each save instead", missing)
        serve_restarting(options)
        return
    from .restart import restart_process
    from .serve import Runner

    os.environ[RUNNER_ENV] = "swap"
    try:
        reason, code = asyncio.run(_serve(options, Runner))
    except KeyboardInterrupt:
        return
    if code is not None:
        sys.exit(code)
    if reason is not None:
        restart_process()


async def _serve(options: Options, runner: type[Runner]) -> tuple[str | None, str | int | None]:
    served = runner(options)
    await served.serve()
    return served.restart_reason, served.exit_code
