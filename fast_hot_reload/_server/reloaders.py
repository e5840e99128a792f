from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from watchfiles import Change, DefaultFilter

from .._files.filters import WATCHFILES_DIRS, WATCHFILES_FILES
from .detect import own_reloader_on, program, under_runner, under_uvicorn_hmr, uvicorn_hmr_refresh, uvicorn_server

# files we update the tabs for: a server reloader that restarts for them only makes each update slower
OURS = ("x.html", "x.jinja", "x.jinja2", "x.j2", "x.css", "x.js", "x.svg", "x.png")
IN_PLACE = (".html", ".jinja", ".jinja2", ".j2", ".css", ".js", ".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp")
MAX_SHOWN = 3  # example files named in the warning
HMR_PYTHON = (3, 12)  # where hmr, and so our runner's swaps, run


def reloader_warning(folders: Sequence[str]) -> str | None:
    """What to tell the user when the server's reloader restarts for files we update in place, with the fix."""
    patterns = [p for p in uvicorn_includes() if any(fnmatch.fnmatch(name, p) for name in OURS)]
    if patterns:
        shown = " ".join(f"--reload-include '{p}'" for p in patterns)
        return (
            f"uvicorn restarts the server when a template or static file is saved ({shown}): each save then waits "
            "for a restart. fast-hot-reload updates the tabs without one: "
            f"drop {'it' if len(patterns) == 1 else 'them'} and keep --reload for Python files"
        )
    return granian_warning(folders) or tls_warning() or refresh_warning()


def refresh_warning() -> str | None:
    if not uvicorn_hmr_refresh():
        return None
    return (
        "uvicorn-hmr --refresh reloads every tab after each Python save, on top of fast-hot-reload's update in place "
        "(typed text and scroll lost): run uvicorn-hmr without --refresh"
    )


def runner_hint() -> str | None:
    """On Python 3.12+ under `uvicorn --reload` (or `fastapi dev`): that our runner makes Python edits faster."""
    config = getattr(uvicorn_server(), "config", None)
    if sys.version_info < HMR_PYTHON or under_runner() or under_uvicorn_hmr() or not getattr(config, "reload", False):
        return None
    app = getattr(config, "app", None)
    target = app if isinstance(app, str) else "main:app"
    return (
        f"Python edits without a restart: `fast-hot-reload {target}` reruns only the changed modules and swaps the "
        "app in place (pip install 'fast-hot-reload[hmr]')"
    )


def tls_warning() -> str | None:
    """uvicorn --reload over HTTPS waits up to 30 s at each restart for Chromium's idle TLS connections (with or
    without us: asyncio's TLS shutdown timeout), unless its graceful shutdown is bounded."""
    config = getattr(uvicorn_server(), "config", None)
    if config is None or not getattr(config, "reload", False) or not getattr(config, "is_ssl", False):
        return None
    if getattr(config, "timeout_graceful_shutdown", None) is not None:
        return None
    return (
        "uvicorn --reload over HTTPS: a restart waits up to 30 s for a browser's idle TLS connections to close "
        "(asyncio's TLS shutdown; with or without fast-hot-reload). Add --timeout-graceful-shutdown 1 "
        "(uvicorn.run(..., timeout_graceful_shutdown=1)) to restart at once"
    )


def uvicorn_includes() -> Sequence[str]:
    """The extra file patterns uvicorn's reloader watches: from the running server's config, else its command line."""
    config = getattr(uvicorn_server(), "config", None)
    if config is not None and getattr(config, "reload", False):
        return list(getattr(config, "reload_includes", None) or ())
    if program() in ("granian", "hypercorn"):
        return []
    return option_values("--reload-include") if "--reload" in sys.argv else []


def option_values(option: str, env: str | None = None) -> list[str]:
    """Every value a command-line option was given (`--x a --x b`, `--x=a`), else its environment variable's."""
    argv = sys.argv
    found = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == option]
    found += [arg.split("=", 1)[1] for arg in argv if arg.startswith(option + "=")]
    if not found and env and os.environ.get(env):
        found = os.environ[env].split()  # click splits a multiple option's variable on whitespace
    return found


def granian_warning(folders: Sequence[str]) -> str | None:
    if program() != "granian":
        return None
    if not own_reloader_on():
        return None
    dirs = option_values("--reload-ignore-dirs", "GRANIAN_RELOAD_IGNORE_DIRS")
    patterns = option_values("--reload-ignore-patterns", "GRANIAN_RELOAD_IGNORE_PATTERNS")
    ignored = option_values("--reload-ignore-paths", "GRANIAN_RELOAD_IGNORE_PATHS")
    roots = [Path(p).resolve() for p in option_values("--reload-paths", "GRANIAN_RELOAD_PATHS") or ["."]]
    # granian's filter as its reloader builds it (watchfiles' defaults plus its options)
    restarts = DefaultFilter(
        ignore_dirs=(*WATCHFILES_DIRS, *dirs),
        ignore_entity_patterns=(*WATCHFILES_FILES, *patterns),
        ignore_paths=[Path(p).resolve() for p in ignored],
    )
    files, python = scan(folders)
    hit = [f for f in files if restarts(Change.modified, f) and any(Path(f).is_relative_to(r) for r in roots)]
    if not hit:
        return None
    quiet = {file: quiet_folder(file, python, roots) for file in hit}
    flags = [f"--reload-ignore-dirs {name}" for name in dict.fromkeys(n for n in quiet.values() if n)]
    exts = sorted({os.path.splitext(f)[1].lower()[1:] for f, name in quiet.items() if name is None})
    if exts:  # beside Python files: no folder can go, their names can
        flags.append(f"--reload-ignore-patterns '\\.({'|'.join(exts)})$'")
    examples = {name: file for file, name in reversed(quiet.items())}  # the first file of each folder
    shown = ", ".join(os.path.relpath(f) for f in sorted(examples.values())[:MAX_SHOWN])
    return (
        f"granian restarts the worker when a template or static file is saved ({shown}): each save then waits for a "
        f"restart and stylesheets are never swapped in place. fast-hot-reload updates the tabs without one: run "
        f"granian with {' '.join(flags)} (or point --reload-paths at your Python code)"
    )


def scan(folders: Iterable[str]) -> tuple[list[str], set[str]]:
    """The files we update in place in the watched folders, and the folders that hold Python files."""
    files: list[str] = []
    python: set[str] = set()
    for folder in folders:
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.endswith(".py"):
                        python.add(folder)
                    elif entry.name.lower().endswith(IN_PLACE) and entry.is_file():
                        files.append(entry.path)
        except OSError:
            continue  # a file root, or gone: nothing to say about it
    return sorted(files), python


def quiet_folder(file: str, python: set[str], roots: Sequence[Path]) -> str | None:
    """The name of the highest folder above `file`, inside the reload paths, with no Python file under it."""
    best = None
    folder = Path(file).parent
    while any(folder.is_relative_to(r) and folder != r for r in roots):
        if any(Path(p).is_relative_to(folder) for p in python):
            break
        best, folder = folder.name, folder.parent
    return best
