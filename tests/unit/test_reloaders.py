"""Which servers' reloaders we can see from a worker, and what we tell the user about them (from their command line)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from fast_hot_reload._server import detect as _stopping
from fast_hot_reload._server import reloaders as _reloaders
from fast_hot_reload._server.detect import restart_expected_on_save
from fast_hot_reload._server.reloaders import granian_warning, reloader_warning


class FakeUvicorn:
    """What we read of uvicorn's Server: its SIGTERM handler is a bound method, its config says how it runs."""

    should_exit = False

    def __init__(self, **config: Any) -> None:
        self.config = type("Config", (), {"reload": True, "reload_includes": [], "is_ssl": False, **config})()

    def handle_exit(self, sig: int, frame: object) -> None:
        self.should_exit = True


@pytest.fixture
def no_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signal, "getsignal", lambda sig: signal.SIG_DFL)
    monkeypatch.delenv("GRANIAN_RELOAD", raising=False)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/venv/bin/hypercorn", "main:app", "--reload"], True),
        (["/venv/bin/hypercorn", "main:app"], False),  # no reloader: a save must not end the streams
        (["/venv/lib/python3.12/site-packages/hypercorn/__main__.py", "main:app", "--reload"], True),
        (["/venv/bin/granian", "--interface", "asgi", "--reload", "main:app"], True),
        (["/venv/bin/granian", "--interface", "asgi", "main:app"], False),
        (["/venv/bin/granian", "--reload", "--no-reload", "main:app"], False),
        (["run.py"], True),  # a server we do not know: end the streams for a moment, to be safe
    ],
)
def test_a_python_save_ends_the_streams_where_a_reloader_may_stop_us(
    monkeypatch: pytest.MonkeyPatch, no_uvicorn: None, argv: list[str], expected: bool
) -> None:
    monkeypatch.setattr(sys, "argv", argv)
    assert restart_expected_on_save() is expected


def test_granians_reload_variable_counts(monkeypatch: pytest.MonkeyPatch, no_uvicorn: None) -> None:
    monkeypatch.setattr(sys, "argv", ["/venv/bin/granian", "main:app"])
    monkeypatch.setenv("GRANIAN_RELOAD", "true")
    assert restart_expected_on_save() is True


def test_under_uvicorn_its_own_stop_signal_ends_the_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeUvicorn()
    monkeypatch.setattr(signal, "getsignal", lambda sig: server.handle_exit)
    monkeypatch.setattr(sys, "argv", ["/venv/bin/uvicorn", "main:app", "--reload"])
    assert _stopping.uvicorn_server() is server
    assert restart_expected_on_save() is False


@pytest.mark.parametrize(("ssl", "timeout", "warned"), [(True, None, True), (True, 1, False), (False, None, False)])
def test_uvicorn_reloading_over_https_is_told_to_bound_its_graceful_shutdown(
    monkeypatch: pytest.MonkeyPatch, ssl: bool, timeout: int | None, warned: bool
) -> None:
    server = FakeUvicorn(is_ssl=ssl, timeout_graceful_shutdown=timeout)
    monkeypatch.setattr(signal, "getsignal", lambda sig: server.handle_exit)
    warning = reloader_warning([])
    assert (warning is not None and "--timeout-graceful-shutdown 1" in warning) is warned


def test_uvicorns_reload_include_of_templates_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeUvicorn(reload_includes=["*.html", "*.toml"])
    monkeypatch.setattr(signal, "getsignal", lambda sig: server.handle_exit)
    warning = reloader_warning([])
    assert warning is not None and "(--reload-include '*.html')" in warning and "drop it" in warning


def project(root: Path) -> list[str]:
    """An app package with its templates and static files inside, and a stylesheet beside its Python."""
    for name in ("app/main.py", "app/templates/index.html", "app/templates/parts/nav.html", "app/static/style.css"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    (root / "app" / "extra.css").write_text("x")
    return [
        str(p) for p in (root, root / "app", root / "app/templates", root / "app/templates/parts", root / "app/static")
    ]


def test_granian_is_told_which_folders_to_ignore(
    monkeypatch: pytest.MonkeyPatch, no_uvicorn: None, tmp_path: Path
) -> None:
    folders = project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["/venv/bin/granian", "--reload", "app.main:app"])
    warning = granian_warning(folders)
    assert warning is not None
    # the highest folders without Python, never `app` itself; the stylesheet beside main.py by its name
    assert "--reload-ignore-dirs templates --reload-ignore-dirs static" in warning or (
        "--reload-ignore-dirs static --reload-ignore-dirs templates" in warning
    ), warning
    assert "--reload-ignore-dirs app " not in warning and "--reload-ignore-patterns '\\.(css)$'" in warning
    assert str(tmp_path) not in warning


def test_granian_told_already_is_quiet(monkeypatch: pytest.MonkeyPatch, no_uvicorn: None, tmp_path: Path) -> None:
    folders = project(tmp_path)
    monkeypatch.chdir(tmp_path)
    flags = ["--reload-ignore-dirs", "templates", "--reload-ignore-dirs=static", "--reload-ignore-patterns", r"\.css$"]
    monkeypatch.setattr(sys, "argv", ["/venv/bin/granian", "--reload", *flags, "app.main:app"])
    assert granian_warning(folders) is None
    monkeypatch.setattr(sys, "argv", ["/venv/bin/granian", "--reload", "--reload-paths", "app/main.py", "app.main:app"])
    assert granian_warning(folders) is None  # only the Python file is watched
    monkeypatch.setattr(sys, "argv", ["/venv/bin/granian", "app.main:app"])
    assert granian_warning(folders) is None  # no reloader at all


def test_other_servers_get_no_reloader_warning(monkeypatch: pytest.MonkeyPatch, no_uvicorn: None) -> None:
    monkeypatch.setattr(sys, "argv", ["/venv/bin/hypercorn", "main:app", "--reload"])  # it watches Python modules only
    assert reloader_warning([]) is None
    assert _reloaders.uvicorn_includes() == []
