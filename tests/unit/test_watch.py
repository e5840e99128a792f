from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from watchfiles import Change

import fast_hot_reload._files.filters as filters_module
import fast_hot_reload._files.watch as watch_module
from fast_hot_reload._config import Config
from fast_hot_reload._events.broadcaster import Broadcaster
from fast_hot_reload._files.filters import ChangeFilter, watched_folders
from fast_hot_reload._files.paths import relative
from fast_hot_reload._files.watch import classify, publish_changes, watch
from fast_hot_reload._protocol import Event

from .._support.watcher import run_watch as run_real_watch

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parent  # an existing folder


@pytest.fixture(autouse=True)
def _no_forced_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    # the awatch path (inotify) is tested here, in any shell; tests/unit/test_poll.py tests forced polling
    monkeypatch.setenv("WATCHFILES_FORCE_POLLING", "false")


# ---- classify ----


@pytest.mark.parametrize(
    ("paths", "kind"),
    [
        (["/p/a.css"], "css"),
        (["/p/a.css", "/p/static/B.CSS"], "css"),
        (["/p/a.css", "/p/index.html"], "reload"),
        (["/p/index.html"], "reload"),
        (["/p/app.js"], "reload"),
        (["/p/logo.png", "/p/photo.jpg"], "reload"),  # no image refresh yet: images reload the page
        (["/p/a.css.map"], "reload"),
        (["/p/a.scss"], "reload"),
        (["/p/css"], "reload"),
    ],
)
def test_classify(paths: list[str], kind: str) -> None:
    assert classify(paths) == kind


def test_classify_no_files() -> None:
    # vacuously "only stylesheets"; watchfiles never yields an empty batch, and the client's css
    # swap with no paths refreshes every stylesheet, which is harmless
    assert classify([]) == "css"


# ---- relative ----


@pytest.mark.parametrize(
    ("path", "roots", "expected"),
    [
        ("project/index.html", ("project",), "index.html"),
        ("project/templates/a/b.html", ("project",), "templates/a/b.html"),
        ("other/static/a.css", ("project", "other"), "static/a.css"),
        ("elsewhere/secret/a.css", ("project",), "a.css"),
        ("projectx/a.css", ("project",), "a.css"),
        ("project", ("project",), "project"),
    ],
)
def test_relative(tmp_path: Path, path: str, roots: tuple[str, ...], expected: str) -> None:
    for root in roots:
        (tmp_path / root).mkdir()
    assert relative(str(tmp_path / path), tuple(tmp_path / root for root in roots)) == expected


def test_relative_outside_roots_is_the_name(tmp_path: Path) -> None:
    assert relative("/etc/passwd", (tmp_path,)) == "passwd"
    assert relative("/", (tmp_path,)) == ""


def test_relative_under_a_vanished_root(tmp_path: Path) -> None:
    # the same answer whether or not the watch folder still exists
    gone = tmp_path / "gone"
    assert relative(str(gone / "a.css"), (gone,)) == "a.css"


def test_relative_to_a_watched_file(tmp_path: Path) -> None:
    target = tmp_path / "style.css"
    target.write_text("")
    assert relative(str(target), (target,)) == "style.css"
    assert relative(str(tmp_path / "other.css"), (target,)) == "other.css"


@pytest.mark.parametrize(
    "path",
    ["/", "/a", f"{ROOT}/../etc/passwd", "/x/y/z.css", f"{ROOT}/", f"/{ROOT}/a", f"{ROOT}/a/../../b", f"{ROOT}/a.css"],
)
@pytest.mark.parametrize("roots", [(ROOT,), (Path("/"),), (Path("/nonexistent/x"), ROOT), (ROOT / "a.css",), ()])
def test_relative_never_absolute(path: str, roots: tuple[Path, ...]) -> None:
    shown = relative(path, roots)
    assert not shown.startswith("/")
    assert not Path(shown).is_absolute()


# ---- the filter ----


@pytest.mark.parametrize(
    "path",
    [
        "/p/app.pyc",
        "/p/app.pyc",
        "/p/sub/mod.pyi",
        "/p/.git/config",
        "/p/.git/objects/ab/cdef",
        "/p/.venv/lib/x.html",
        "/p/venv/lib/x.html",
        "/p/node_modules/pkg/x.js",
        "/p/__pycache__/x.html",
        "/p/templates/x.swp",
        "/p/templates/x.html.swp",
        "/p/templates/x.html~",
        "/p/templates/.#x.html",
        "/p/templates/4913",
        "/p/templates/x.tmp",
        "/p/templates/#x.html#",
        "/p/templates/.goutputstream-AB12CD",
        "/p/templates/sedAb12Cd",  # sed -i
        "/p/data.db",
        "/p/data.sqlite3",
        "/p/data.sqlite",
        "/p/app.log",
        "/p/x.db-journal",
        "/p/x.db-wal",
        "/p/.DS_Store",
    ],
)
def test_filter_ignores(path: str) -> None:
    assert ChangeFilter()(Change.modified, path) is False


@pytest.mark.parametrize(
    "path",
    [
        "/p/index.html",
        "/p/templates/page.jinja",
        "/p/static/style.css",
        "/p/static/app.js",
        "/p/static/logo.png",
        "/p/4913.html",
        "/p/pyproject.toml",
        "/p/database.html",
        "/p/logs.css",
        "/p/templates/sediment.html",
        "/p/sedan1",
    ],
)
def test_filter_keeps(path: str) -> None:
    assert ChangeFilter()(Change.modified, path) is True


@pytest.mark.parametrize(
    ("pattern", "ignored", "kept"),
    [
        ("*.generated.html", "/p/templates/a.generated.html", "/p/templates/a.html"),
        ("build", "/p/build/index.html", "/p/builder/index.html"),
        ("uploads", "/p/static/uploads/x.css", "/p/static/x.css"),
        ("/p/secret/*", "/p/secret/deep/a.css", "/p/public/a.css"),
        ("*.txt", "/p/notes.txt", "/p/notes.html"),
    ],
)
def test_filter_user_patterns(pattern: str, ignored: str, kept: str) -> None:
    watch_filter = ChangeFilter((pattern,))
    assert watch_filter(Change.modified, ignored) is False
    assert watch_filter(Change.modified, kept) is True


def test_filter_keeps_watchfiles_defaults_and_nothing_a_reloader_adds_to_them() -> None:
    """granian's --reload-ignore-dirs extends watchfiles.DefaultFilter in place, then forks the worker importing us."""
    import subprocess
    import sys

    from watchfiles import DefaultFilter

    assert set(DefaultFilter.ignore_dirs) - {"site-packages"} <= set(filters_module.IGNORED_DIRS)  # 0.21 had it too
    assert set(DefaultFilter.ignore_entity_patterns) <= set(filters_module.IGNORED_FILES)
    code = (
        "import watchfiles\n"
        "F = watchfiles.DefaultFilter\n"
        "F.ignore_dirs = (*F.ignore_dirs, 'templates', 'static')\n"
        "F.ignore_entity_patterns = (*F.ignore_entity_patterns, r'\\.css$')\n"
        "F.ignore_paths = ('/app',)\n"
        "from watchfiles import Change\n"
        "from fast_hot_reload._files.filters import ChangeFilter\n"
        "keep = ChangeFilter()\n"
        "print(all(keep(Change.modified, p) for p in ('/app/templates/a.html', '/app/static/a.css')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "True", done.stderr


def test_filter_applies_to_all_change_kinds() -> None:
    for change in Change:
        assert ChangeFilter()(change, "/p/a.pyc") is False
        assert ChangeFilter()(change, "/p/a.html") is True


@pytest.mark.parametrize(
    "name",
    [
        "x.html.tmp",
        "x.html.tmp123",
        "x.html.tmp.4567",
        ".x.html.swp",
        ".x.html.swx",
        "x.html~",
        "style.css.2731467812",
        ".~lock.x.html#",
        "x.html.___jb_tmp___",
        "x.html.crswap",
    ],
)
def test_filter_ignores_editor_temp_files(name: str) -> None:
    assert ChangeFilter()(Change.added, f"/p/templates/{name}") is False


async def test_python_files_are_not_broadcast(tmp_path: Path) -> None:
    config = Config(watch_paths=(tmp_path,))
    broadcaster = Broadcaster()
    assert await publish_changes(config, broadcaster, changes_in(tmp_path, "main.py")) is None
    assert broadcaster.version == 0
    event = await publish_changes(config, broadcaster, changes_in(tmp_path, "main.py", "templates/a.html"))
    assert event is not None and event.paths == ("templates/a.html",)


# ---- publish_changes and on_reload ----


def changes_in(root: Path, *names: str, change: Change = Change.modified) -> set[tuple[Change, str]]:
    return {(change, str(root / name)) for name in names}


async def test_publish_changes_css(tmp_path: Path) -> None:
    config = Config(watch_paths=(tmp_path,))
    broadcaster = Broadcaster()
    changes = changes_in(tmp_path, "static/b.css", "a.css") | changes_in(tmp_path, "a.css", change=Change.added)
    event = await publish_changes(config, broadcaster, changes)
    assert event == Event(1, "css", ("a.css", "static/b.css"))
    assert broadcaster.version == 1


async def test_publish_changes_reload_and_logs_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fast_hot_reload")
    config = Config(watch_paths=(tmp_path,))
    event = await publish_changes(config, Broadcaster(), changes_in(tmp_path, "a.css", "templates/index.html"))
    assert event == Event(1, "reload", ("a.css", "templates/index.html"))
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 1
    assert "reload" in infos[0].getMessage() and "templates/index.html" in infos[0].getMessage()
    assert str(tmp_path) not in infos[0].getMessage()


async def test_on_reload_sync_gets_the_paths(tmp_path: Path) -> None:
    seen: list[list[str]] = []
    config = Config(watch_paths=(tmp_path,), on_reload=seen.append)
    await publish_changes(config, Broadcaster(), changes_in(tmp_path, "b.html", "a.html"))
    assert seen == [[str(tmp_path / "a.html"), str(tmp_path / "b.html")]]


async def test_on_reload_sync_runs_off_the_event_loop(tmp_path: Path) -> None:
    threads: list[int] = []
    config = Config(watch_paths=(tmp_path,), on_reload=lambda paths: threads.append(threading.get_ident()))
    await publish_changes(config, Broadcaster(), changes_in(tmp_path, "a.html"))
    assert threads and threads[0] != threading.get_ident()


async def test_on_reload_async(tmp_path: Path) -> None:
    seen: list[list[str]] = []
    broadcaster = Broadcaster()

    async def callback(paths: list[str]) -> None:
        await anyio.lowlevel.checkpoint()
        assert broadcaster.version == 0  # runs before the browsers are told
        seen.append(paths)

    config = Config(watch_paths=(tmp_path,), on_reload=callback)
    await publish_changes(config, broadcaster, changes_in(tmp_path, "a.html"))
    assert seen == [[str(tmp_path / "a.html")]]
    assert broadcaster.version == 1


async def test_on_reload_sync_returning_awaitable(tmp_path: Path) -> None:
    seen: list[str] = []

    async def later(paths: list[str]) -> None:
        seen.extend(paths)

    config = Config(watch_paths=(tmp_path,), on_reload=lambda paths: later(paths))
    await publish_changes(config, Broadcaster(), changes_in(tmp_path, "a.html"))
    assert seen == [str(tmp_path / "a.html")]


@pytest.mark.parametrize("is_async", [False, True])
async def test_on_reload_raising_is_logged_and_reload_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, is_async: bool
) -> None:
    def sync_callback(paths: list[str]) -> None:
        raise ZeroDivisionError("callback broke")

    async def async_callback(paths: list[str]) -> None:
        raise ZeroDivisionError("callback broke")

    config = Config(watch_paths=(tmp_path,), on_reload=async_callback if is_async else sync_callback)
    broadcaster = Broadcaster()
    event = await publish_changes(config, broadcaster, changes_in(tmp_path, "a.html"))
    assert event.version == 1 and broadcaster.version == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "on_reload raised" in errors[0].getMessage()
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is ZeroDivisionError


async def test_on_reload_hanging_async(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "ON_RELOAD_TIMEOUT", 0.2)
    never = anyio.Event()

    async def callback(paths: list[str]) -> None:
        await never.wait()

    config = Config(watch_paths=(tmp_path,), on_reload=callback)
    broadcaster = Broadcaster()
    with anyio.fail_after(5):
        event = await publish_changes(config, broadcaster, changes_in(tmp_path, "a.html"))
    assert event.version == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "on_reload ran over" in warnings[0].getMessage()


async def test_on_reload_hanging_sync(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "ON_RELOAD_TIMEOUT", 0.2)
    release = threading.Event()
    finished = threading.Event()

    def callback(paths: list[str]) -> None:
        release.wait(30)
        finished.set()

    config = Config(watch_paths=(tmp_path,), on_reload=callback)
    broadcaster = Broadcaster()
    try:
        with anyio.fail_after(5):
            event = await publish_changes(config, broadcaster, changes_in(tmp_path, "a.html"))
        assert event.version == 1
        assert not finished.is_set()  # the reload did not wait for the callback
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "on_reload ran over" in warnings[0].getMessage()
    finally:
        release.set()  # let the abandoned worker thread end
    assert finished.wait(5)


# ---- which folders get a watch ----


def make_tree(root: Path, *folders: str) -> None:
    for folder in folders:
        (root / folder).mkdir(parents=True)
        (root / folder / "f.html").write_text("x")


def test_watched_folders_leave_ignored_trees_out(tmp_path: Path) -> None:
    make_tree(tmp_path, "templates/partials", "static/css", ".venv/lib/site", "node_modules/a/b", ".git/objects/ab")
    make_tree(tmp_path, "app/__pycache__", "build/out", "deep/node_modules/c")
    found = watched_folders([tmp_path], ChangeFilter(("build",)))
    relative_found = [Path(p).relative_to(tmp_path).as_posix() for p in found]
    assert relative_found == ["."] + sorted(["app", "deep", "static", "static/css", "templates", "templates/partials"])


def test_watched_folders_follow_symlinks_once_and_take_files(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    make_tree(tmp_path, "root/sub", "elsewhere/inner")
    (root / "linked").symlink_to(elsewhere)  # followed, as a recursive watch would
    (elsewhere / "inner" / "loop").symlink_to(root)  # a cycle: each folder is listed once
    (root / "page.html").write_text("x")
    found = watched_folders([root, root / "page.html", tmp_path / "gone"], ChangeFilter())
    assert found == [str(root), str(root / "linked"), str(root / "linked" / "inner"), str(root / "sub")] + [
        str(root / "page.html")
    ]


# ---- the watch loop with a fake change source ----


def fake_awatch(batches: list[set[tuple[Change, str]]], calls: list[dict[str, Any]]) -> Callable[..., Any]:
    """Stands in for watchfiles.awatch: yields prepared batches, then ends like awatch on stop_event."""

    async def awatch(*roots: Path, **kwargs: Any) -> AsyncIterator[set[tuple[Change, str]]]:
        calls.append({"roots": roots, **kwargs})
        for batch in batches:
            yield batch
        await kwargs["stop_event"].wait()

    return awatch


async def test_watch_publishes_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batches = [
        changes_in(tmp_path, "a.css"),
        changes_in(tmp_path, "index.html"),
        changes_in(tmp_path, "b.css", "c.css"),
    ]
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(watch_module, "awatch", fake_awatch(batches, calls))
    config = Config(watch_paths=(tmp_path,), ignore_patterns=("*.gen",))
    broadcaster = Broadcaster()
    stop = anyio.Event()
    started: list[bool] = []
    received: list[Event] = []

    with anyio.fail_after(5):
        async with broadcaster.subscribe() as subscription, anyio.create_task_group() as tg:
            tg.start_soon(watch, config, broadcaster, stop, lambda folders: started.append(bool(folders)))
            while broadcaster.version < 3:
                await broadcaster.wait_beyond(broadcaster.version)
            stop.set()
            received.append(await subscription.next() or Event(0, "css", ()))
    assert received == [Event(3, "reload", ("a.css", "index.html", "b.css", "c.css"))]
    assert broadcaster.since(0) == received[0]
    assert broadcaster.since(2) == Event(3, "css", ("b.css", "c.css"))
    assert started == [True]
    assert len(calls) == 1
    assert calls[0]["roots"] == (str(tmp_path),)  # each folder on its own: ignored trees are never walked
    assert calls[0]["recursive"] is False
    assert calls[0]["step"] == watch_module.STEP_MS
    assert calls[0]["stop_event"] is stop
    watch_filter = calls[0]["watch_filter"]
    assert isinstance(watch_filter, ChangeFilter)
    assert watch_filter(Change.modified, str(tmp_path / "x.gen")) is False
    assert watch_filter(Change.modified, str(tmp_path / "x.pyc")) is False


async def test_watch_retries_after_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(watch_module, "ROOT_POLL", 0.01)
    calls: list[dict[str, Any]] = []
    working = fake_awatch([changes_in(tmp_path, "a.html")], calls)

    def flaky(*roots: Path, **kwargs: Any) -> Any:
        if len(calls) < 3:
            calls.append({})
            raise OSError("inotify watch limit reached")
        return working(*roots, **kwargs)

    monkeypatch.setattr(watch_module, "awatch", flaky)
    broadcaster = Broadcaster()
    stop = anyio.Event()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch, Config(watch_paths=(tmp_path,)), broadcaster, stop)
            await broadcaster.wait_beyond(1)
            stop.set()
    # first a catch-up reload for whatever changed while nothing watched, then the change itself
    assert broadcaster.version == 2
    assert broadcaster.since(0) == Event(2, "reload", ("a.html",))
    assert len(calls) == 4
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "inotify watch limit reached" in warnings[0]


async def test_watch_returns_when_stopped_before_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(watch_module, "awatch", fake_awatch([], calls))
    stop = anyio.Event()
    stop.set()
    with anyio.fail_after(5):
        await watch(Config(watch_paths=(tmp_path,)), Broadcaster(), stop)
    assert calls == []


# ---- the real file system: the only tests that touch it ----


async def test_real_file_change_is_published(tmp_path: Path) -> None:
    async def body(broadcaster: Broadcaster) -> None:
        async with broadcaster.subscribe() as subscription:
            (tmp_path / "index.html").write_text("<p>v2</p>")
            (tmp_path / "ignored.py").write_text("x = 1")
            with anyio.fail_after(10):
                event = await subscription.next()
        assert event is not None and (event.kind, event.paths) == ("reload", ("index.html",))

    await run_real_watch(tmp_path, body)


async def test_editor_style_save_is_one_event(tmp_path: Path) -> None:
    target = tmp_path / "index.html"
    target.write_text("<p>v1</p>")

    async def body(broadcaster: Broadcaster) -> None:
        async with broadcaster.subscribe() as subscription:
            temp = tmp_path / "index.html.tmp"
            temp.write_text("<p>v2</p>")
            os.replace(temp, target)
            with anyio.fail_after(10):
                first = await subscription.next()
            # a stray second event for the save would come before the sentinel's
            (tmp_path / "sentinel.css").write_text("body {}")
            with anyio.fail_after(10):
                second = await subscription.next()
        assert first is not None and (first.version, first.kind, first.paths) == (1, "reload", ("index.html",))
        assert second is not None and (second.version, second.kind, second.paths) == (2, "css", ("sentinel.css",))
        assert broadcaster.version == 2

    await run_real_watch(tmp_path, body)


async def test_a_new_folder_is_watched_before_its_change_is_published(tmp_path: Path) -> None:
    async def body(broadcaster: Broadcaster) -> None:
        async with broadcaster.subscribe() as subscription:
            (tmp_path / "new").mkdir()
            (tmp_path / "new" / "a.html").write_text("v1")  # may come before the new folder is watched
            with anyio.fail_after(10):
                first = await subscription.next()
            # by now the folder is watched: a later save in it is seen
            (tmp_path / "new" / "a.html").write_text("v2")
            with anyio.fail_after(10):
                second = await subscription.next()
        assert first is not None and first.kind == "reload" and "new" in first.paths
        assert second is not None and second.paths == ("new/a.html",)

    await run_real_watch(tmp_path, body)


def inotify_watches() -> int:
    """How many inotify watches this process holds, from /proc."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify":
                count += Path(f"/proc/self/fdinfo/{fd}").read_text().count("inotify wd:")
        except OSError:
            pass
    return count


@pytest.mark.skipif(not Path("/proc/self/fdinfo").exists(), reason="counts inotify watches from Linux's /proc")
async def test_ignored_trees_get_no_os_watches(tmp_path: Path) -> None:
    make_tree(tmp_path, "templates")
    for i in range(200):  # a small node_modules: a recursive watch would take 200 more
        (tmp_path / "node_modules" / f"pkg{i}").mkdir(parents=True)
    before = inotify_watches()

    async def body(broadcaster: Broadcaster) -> None:
        assert inotify_watches() - before <= 2  # the root and templates/ (a recursive watch: 202)

    await run_real_watch(tmp_path, body)
