"""The runner's parts that need no server: its command line, which files it reacts to, the hand-driven lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from watchfiles import Change

from fast_hot_reload._runner.cli import parse
from fast_hot_reload._runner.lifespans import AppLifespan, StartupFailed
from fast_hot_reload._runner.options import DEFAULT_EXCLUDES, RunnerFilter, split_includes


@pytest.fixture
def app_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "main.py").write_text("app = None\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))  # parse() puts the app's folder first
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["main"], "is not MODULE:ATTRIBUTE"),
        (["main:"], "is not MODULE:ATTRIBUTE"),
        (["no_such_module_here:app"], "module 'no_such_module_here' not found"),
        (["main:app", "--port", "70000"], "is not a port"),
        (["main:app", "--app-dir", "nowhere"], "--app-dir nowhere: no such folder"),
        (["main:app", "--reload-dir", "nowhere"], "--reload-dir nowhere: no such folder"),
        (["main:app", "--log-level", "loud"], "invalid choice"),
    ],
)
def test_bad_command_lines_say_what_to_do(
    app_folder: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(argv)
    assert exit_info.value.code == 2
    assert said in capsys.readouterr().err


def test_the_options_as_uvicorn_names_them(app_folder: Path) -> None:
    (app_folder / "src").mkdir()
    options = parse(["main:app", "--port", "0", "--reload-dir", "src", "--reload-include", "*.toml", "--factory"])
    assert (options.module, options.attr, options.port, options.factory) == ("main", "app", 0, True)
    assert options.folders == [(app_folder / "src").resolve()]
    assert options.includes == ("*.py", "*.toml")
    assert parse(["main:app"]).folders == [app_folder.resolve()]


def test_templates_and_static_files_are_left_to_the_tabs() -> None:
    assert split_includes(("*.html", "*.toml", "*.css")) == (("*.toml",), ("*.html", "*.css"))


def test_the_runner_reacts_to_python_and_included_files_only(tmp_path: Path) -> None:
    reacts = RunnerFilter(("*.py", "*.toml"), (*DEFAULT_EXCLUDES, "scratch*"))
    assert reacts(Change.modified, str(tmp_path / "main.py"))
    assert reacts(Change.modified, str(tmp_path / "pyproject.toml"))
    assert not reacts(Change.modified, str(tmp_path / "templates" / "index.html"))
    assert not reacts(Change.modified, str(tmp_path / ".venv" / "lib" / "x.py"))
    assert not reacts(Change.modified, str(tmp_path / "__pycache__" / "main.cpython-312.pyc"))
    assert not reacts(Change.modified, str(tmp_path / "scratch.py"))


@pytest.mark.anyio
async def test_a_lifespan_runs_by_hand_and_its_state_is_kept() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"pool": "open"}
        events.append("shutdown")

    async with anyio.create_task_group() as tg:
        first, second = AppLifespan(Starlette(lifespan=lifespan)), AppLifespan(Starlette(lifespan=lifespan))
        await first.startup(tg)
        await second.startup(tg)  # they overlap while the runner swaps
        await first.shutdown()
        assert events == ["startup", "startup", "shutdown"]
        assert first.state == second.state == {"pool": "open"}
        await second.shutdown()
    assert events == ["startup", "startup", "shutdown", "shutdown"]


@pytest.mark.anyio
async def test_a_failed_startup_is_said_and_an_app_without_lifespans_is_served() -> None:
    @asynccontextmanager
    async def failing(app: Any) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    async def plain(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"  # an app that knows nothing of lifespans

    async with anyio.create_task_group() as tg:
        with pytest.raises(StartupFailed, match="no database"):
            await AppLifespan(Starlette(lifespan=failing)).startup(tg)
        without = AppLifespan(plain)
        await without.startup(tg)
        assert not without.supported
        await without.shutdown()
