"""The app, imported through hmr: a change reruns the modules it touches and their dependents, nothing else."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from types import TracebackType
from typing import Any

from .._server.reloaders import HMR_PYTHON

logger = logging.getLogger("fast_hot_reload.runner")

EXCLUDED = (".venv", "venv")  # virtual environments inside the project are libraries, not the app's code


def hmr_missing() -> str | None:
    """Why hmr cannot run here (with what to do), or None when it can."""
    if sys.version_info < HMR_PYTHON:
        return "Python edits are swapped in place on Python 3.12+ only (hmr needs it)"
    try:
        import_module("reactivity.hmr.core")
    except ImportError:
        return "hmr not installed: pip install 'fast-hot-reload[hmr]'"
    return None


class Rerun:
    """What one (re)run gave: the app object read after it (None if none), and the errors hmr reported."""

    def __init__(self, app: Any, errors: list[BaseException]) -> None:
        self.app = app
        self.errors = errors


@contextmanager
def recording_errors() -> Iterator[list[BaseException]]:
    """hmr reports the errors of a rerun only through sys.excepthook: keep them (and still print them)."""
    errors: list[BaseException] = []
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        errors.append(exc)
        logger.error("%s", "".join(traceback.format_exception(kind, exc, tb)).rstrip())

    sys.excepthook = hook
    try:
        yield errors
    finally:
        sys.excepthook = previous


class AppLoader:
    """Imports `module:attr` as hmr's reactive modules (everything under `folders`) and reruns what changes."""

    def __init__(self, module: str, attr: str, folders: list[Path], factory: bool = False) -> None:
        self.module, self.attr, self.factory = module, attr, factory
        self._core: Any = import_module("reactivity.hmr.core")
        self._fs: Any = import_module("reactivity.hmr.fs")
        self._utils: Any = import_module("reactivity.hmr.utils")
        # from here on, modules under `folders` (not the stdlib, site-packages, venvs) import as ReactiveModules
        self._reloader: Any = self._core.BaseReloader(str(folders[0]), [str(f) for f in folders], list(EXCLUDED))
        self._effect: Any = None
        self._read: Any = None

    def load(self) -> Rerun:
        """The first import. An error leaves nothing to swap to: the runner restarts once a file changes."""
        self._effect = self._core.HMR_CONTEXT.effect(self._read_app, call_immediately=False)
        with recording_errors() as errors:
            try:
                with self._reloader.error_filter:  # its traceback without hmr's own frames
                    self._effect()
            except BaseException as exc:  # the filter lets only non-Exceptions through (SystemExit on import)
                errors.append(exc)
        return self._take(errors)

    def _read_app(self) -> None:
        # inside hmr's effect: reading the name subscribes to it, so a rerun that rebinds `app` runs this again
        app = getattr(import_module(self.module), self.attr)
        self._read = app() if self.factory else app

    def followed(self, path: Path) -> bool:
        """Whether hmr knows `path`: an imported module, or a file read while one ran."""
        signal = self._fs.fs_signals.get(path)
        return path in self._core.ReactiveModule.instances or (signal is not None and bool(signal.subscribers))

    def rerun(self, paths: set[Path]) -> Rerun:
        """Rerun the modules backing `paths`, their dependents, and any module left dirty (synchronously, here)."""
        with recording_errors() as errors:
            try:
                self._reloader.on_changes(paths)  # invalidates them in one batch: what depends on them reruns now
                with self._reloader.error_filter:
                    self._pull_dirty()
            except Exception as exc:  # hmr's pre/post reload hooks run outside its error filter
                errors.append(exc)
        return self._take(errors)

    def _pull_dirty(self) -> None:
        # a module used only at request time (`import heavy`, `heavy.f()` in a route) stays dirty until read: it
        # would rerun inside the next request (in a worker thread, for a sync route). Rerun it now instead.
        instances = self._core.ReactiveModule.instances
        pulled: set[int] = set()  # each once: one that fails stays dirty, and must not be retried forever
        while dirty := [m for m in list(instances.values()) if id(m) not in pulled and _dirty(m) and _live(m)]:
            for module in dirty:
                pulled.add(id(module))
                self._utils.load(module)

    def _take(self, errors: list[BaseException]) -> Rerun:
        app, self._read = self._read, None
        return Rerun(app, errors)


def _dirty(module: Any) -> bool:
    return bool(module._ReactiveModule__load.dirty)


def _live(module: Any) -> bool:
    return sys.modules.get(module.__name__) is module  # an old copy nobody imports any more is left alone
