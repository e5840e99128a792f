"""The runner's options (uvicorn's names), and which saved files it reacts to."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from watchfiles import Change

from .._files.filters import ChangeFilter
from .._server.detect import RUNNER_ENV
from .._server.reloaders import OURS

__all__ = ["RUNNER_ENV", "Options", "RunnerFilter", "split_includes"]

DEFAULT_INCLUDES = ("*.py",)
DEFAULT_EXCLUDES = (".*", ".py[cod]", ".sw.*", "~*")  # uvicorn's


@dataclass(frozen=True)
class Options:
    module: str
    attr: str
    host: str = "127.0.0.1"
    port: int = 8000
    app_dir: Path = Path(".")
    reload_dirs: tuple[Path, ...] = ()
    includes: tuple[str, ...] = DEFAULT_INCLUDES
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES
    log_level: str = "info"
    factory: bool = False

    @property
    def target(self) -> str:
        return f"{self.module}:{self.attr}"

    @property
    def folders(self) -> list[Path]:
        """The folders watched, whose modules hmr reruns: the reload dirs, else the working directory."""
        return [d.resolve() for d in self.reload_dirs] or [Path.cwd().resolve()]


def split_includes(patterns: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The include patterns the runner reloads for, and those it leaves to the plugin (templates, static files:
    updated in the tabs without a rerun)."""
    ours = tuple(p for p in patterns if any(fnmatch.fnmatch(name, p) for name in OURS))
    return tuple(p for p in patterns if p not in ours), ours


class RunnerFilter(ChangeFilter):
    """The plugin's filter (no .git, caches, venvs, editor files) with uvicorn's excludes, then its includes."""

    def __init__(self, includes: tuple[str, ...], excludes: tuple[str, ...]) -> None:
        super().__init__(excludes)
        self.includes = includes

    def __call__(self, change: Change, path: str) -> bool:
        name = os.path.basename(path)
        return super().__call__(change, path) and any(fnmatch.fnmatch(name, p) for p in self.includes)
