"""Forced polling (WATCHFILES_FORCE_POLLING): our own poller, on the real file system, loses no save.

The same under a real server: tests/servers/test_poll_server.py."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import watchfiles.main
from watchfiles import Change

import fast_hot_reload._files.poll as poll_module
import fast_hot_reload._files.watch as watch_module
from fast_hot_reload._config import Config
from fast_hot_reload._events.broadcaster import Broadcaster
from fast_hot_reload._files.filters import ChangeFilter, watched_folders
from fast_hot_reload._files.poll import Poller, poll_interval, polling_forced
from fast_hot_reload._files.watch import watch
from fast_hot_reload._protocol import Event

from .._support.watcher import run_watch, save_with_mtime

pytestmark = pytest.mark.anyio

EVENT_DEADLINE = 10.0  # a save reaches the broadcaster well within this, even on a loaded machine


@pytest.fixture
def polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHFILES_FORCE_POLLING", "true")
    monkeypatch.delenv("WATCHFILES_POLL_DELAY_MS", raising=False)


# ---- when polling is forced: as watchfiles decides ----


@pytest.mark.parametrize("value", [None, "", "true", "1", "yes", "0", "false", "False", "disable", "DISABLED", "no"])
@pytest.mark.parametrize("release", ["6.1.0-18-amd64", "5.15.153.1-microsoft-standard-WSL2"])
def test_polling_forced_agrees_with_watchfiles(
    monkeypatch: pytest.MonkeyPatch, value: str | None, release: str
) -> None:
    if value is None:
        monkeypatch.delenv("WATCHFILES_FORCE_POLLING", raising=False)
    else:
        monkeypatch.setenv("WATCHFILES_FORCE_POLLING", value)
    uname = platform.uname_result("Linux", "host", release, "#1 SMP", "x86_64")
    monkeypatch.setattr(platform, "uname", lambda: uname)
    watchfiles_polls = getattr(watchfiles.main, "_default_force_polling", None)  # private: it may move
    if watchfiles_polls is None:
        pytest.skip("this watchfiles has no _default_force_polling to compare with")
    # whenever watchfiles would poll, with its poller that loses saves, ours runs instead
    assert polling_forced() is watchfiles_polls(None)


def test_poll_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHFILES_POLL_DELAY_MS", raising=False)
    assert poll_interval() is None  # ours: INTERVAL_MS, longer for a big tree
    monkeypatch.setenv("WATCHFILES_POLL_DELAY_MS", "120")  # watchfiles' own knob, honoured
    assert poll_interval() == 0.12
    monkeypatch.setenv("WATCHFILES_POLL_DELAY_MS", "fast")  # not a number: ignored, as watchfiles does
    assert poll_interval() is None


def test_a_tree_that_takes_long_to_scan_is_scanned_whole_less_often(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("cold", "hot"):
        (tmp_path / folder).mkdir()
        for i in range(50):
            (tmp_path / folder / f"f{i}.html").write_text("x")
    old = time.time() - 2 * poll_module.RECENT_WORK
    for path in tmp_path.rglob("*.html"):
        os.utime(path, (old, old))  # nobody worked here lately: no folder is hot to begin with
    folders = watched_folders([tmp_path], ChangeFilter())
    monkeypatch.setattr(poll_module, "DUTY", 1e-6)  # as if listing these files took a long while
    monkeypatch.setattr(poll_module, "DIR_DUTY", 1e-6)
    poller = Poller(ChangeFilter(), 0.01, 0.4)
    scanned: list[list[str]] = []
    scan = poller.scan
    monkeypatch.setattr(poller, "scan", lambda chosen: scanned.append(chosen) or scan(chosen))
    looks: list[float] = []

    def stopped(wait: float) -> bool:
        looks.append(wait)
        return len(looks) > 20

    poller._moved_folders(folders)  # as changes() takes the first listings
    poller.scan(folders)
    f0, f1 = tmp_path / "hot" / "f0.html", tmp_path / "hot" / "f1.html"
    f0.write_text("changed")
    assert poller._next(folders, set(), stopped) == {(Change.modified, str(f0))}
    scanned.clear()
    looks.clear()
    f0.write_text("changed again")  # the file being worked on: one stat at the next look, no scan at all
    assert poller._next(folders, set(), stopped) == {(Change.modified, str(f0))}
    assert looks[0] == poll_module.INTERVAL_MS / 1000  # then the steps while the writes settle
    assert folders not in scanned
    scanned.clear()
    f1.write_text("a sibling, in place")  # in the folder just worked in: its look, when due, is of that folder
    poller._due["hot"] = 0.0
    assert poller._next(folders, set(), stopped) == {(Change.modified, str(f1))}
    assert [str(tmp_path / "hot")] in scanned and folders not in scanned
    scanned.clear()
    looks.clear()
    assert poller._next(folders, set(), stopped) == set()  # quiet: the whole tree is not scanned at every look
    assert sum(chosen == folders for chosen in scanned) <= 1 and len(looks) == 21
    (tmp_path / "cold" / "new.html").write_text("an atomic save: a new entry, renamed over")
    os.utime(tmp_path / "cold", ns=(time.time_ns(), time.time_ns() + 5_000_000_000))  # its folder's mtime moves
    poller._due["dirs"] = 0.0  # the folders' look is due
    looks.clear()
    assert poller._next(folders, set(), stopped) == {(Change.added, str(tmp_path / "cold" / "new.html"))}
    assert folders not in scanned


def test_a_fixed_interval_scans_the_whole_tree_each_time(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("x")
    folders = watched_folders([tmp_path], ChangeFilter())
    waits: list[float] = []

    def stopped(wait: float) -> bool:
        waits.append(wait)
        return len(waits) == 3

    fixed = Poller(ChangeFilter(), 0.01, 0.4, interval=0.005)  # WATCHFILES_POLL_DELAY_MS: as the user says
    fixed.scan(folders)
    assert fixed._next(folders, set(), stopped) == set()
    assert waits == [0.005, 0.005, 0.005]


# ---- the watch loop, polling ----


async def next_event(broadcaster: Broadcaster, after: int) -> Event:
    with anyio.fail_after(EVENT_DEADLINE):
        await broadcaster.wait_beyond(after)
    event = broadcaster.since(after)
    assert event is not None
    return event


@pytest.mark.usefixtures("polling")
async def test_the_poller_runs_instead_of_awatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_awatch(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("watchfiles' polling ran: it loses saves")

    monkeypatch.setattr(watch_module, "awatch", no_awatch)

    async def body(broadcaster: Broadcaster) -> None:
        (tmp_path / "index.html").write_text("<p>v2</p>")
        (tmp_path / "ignored.py").write_text("x = 1")
        event = await next_event(broadcaster, 0)
        assert (event.kind, event.paths) == ("reload", ("index.html",))

    await run_watch(tmp_path, body)


@pytest.mark.usefixtures("polling")
@pytest.mark.parametrize("pinned", [False, True])
async def test_rapid_same_size_rewrites_are_each_reported(tmp_path: Path, pinned: bool) -> None:
    target = tmp_path / "templates" / "index.html"
    target.parent.mkdir()
    target.write_text("<p>v000</p>")
    mtime_ns = target.stat().st_mtime_ns
    seen: set[tuple[int, int]] = set()

    async def body(broadcaster: Broadcaster) -> None:
        for i in range(1, 16):
            version = broadcaster.version
            if pinned:
                save_with_mtime(target, f"<p>v{i:03d}</p>", mtime_ns)
            else:
                target.write_text(f"<p>v{i:03d}</p>")  # in place, tens of ms after the one before
            seen.add((target.stat().st_size, target.stat().st_mtime_ns if pinned else 0))
            event = await next_event(broadcaster, version)  # each save gets its own event, after it
            assert event.paths == ("templates/index.html",)
            assert broadcaster.version == version + 1

    await run_watch(tmp_path, body)
    assert len(seen) == 1  # every save the same size (and, pinned, the same mtime)


@pytest.mark.usefixtures("polling")
async def test_editor_style_save_is_one_event(tmp_path: Path) -> None:
    target = tmp_path / "style.css"
    target.write_text("a {}")

    async def body(broadcaster: Broadcaster) -> None:
        temp = tmp_path / "style.css.tmp"
        temp.write_text("b {}")
        os.replace(temp, target)
        first = await next_event(broadcaster, 0)
        # a stray second event for the save (the temp file, the folder's mtime) would come before the sentinel's
        (tmp_path / "sentinel.html").write_text("x")
        second = await next_event(broadcaster, 1)
        assert (first.version, first.kind, first.paths) == (1, "css", ("style.css",))
        assert (second.version, second.paths) == (2, ("sentinel.html",))

    await run_watch(tmp_path, body)


@pytest.mark.usefixtures("polling")
async def test_a_new_folder_and_its_files_are_seen(tmp_path: Path) -> None:
    async def body(broadcaster: Broadcaster) -> None:
        (tmp_path / "new" / "deeper").mkdir(parents=True)
        (tmp_path / "new" / "deeper" / "a.html").write_text("v1")  # may come before the new folder is listed
        first = await next_event(broadcaster, 0)
        assert first.kind == "reload" and "new" in first.paths
        # by now the folder is watched: a later save in it is seen, and one in the folder under it
        (tmp_path / "new" / "b.html").write_text("v1")
        second = await next_event(broadcaster, first.version)
        assert second.paths == ("new/b.html",)
        (tmp_path / "new" / "deeper" / "a.html").write_text("v2")
        third = await next_event(broadcaster, second.version)
        assert third.paths == ("new/deeper/a.html",)

    await run_watch(tmp_path, body)


@pytest.mark.usefixtures("polling")
async def test_deleted_files_and_folders_are_seen(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("x")
    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "b.html").write_text("x")

    async def body(broadcaster: Broadcaster) -> None:
        (tmp_path / "a.html").unlink()
        first = await next_event(broadcaster, 0)
        assert first.paths == ("a.html",)
        shutil.rmtree(tmp_path / "partials")
        second = await next_event(broadcaster, first.version)
        assert set(second.paths) == {"partials", "partials/b.html"}

    await run_watch(tmp_path, body)


@pytest.mark.usefixtures("polling")
async def test_ignored_folders_are_never_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "templates").mkdir()
    for folder in ("node_modules/pkg/lib", ".venv/lib/site-packages", "build/out", ".git/objects"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "x.html").write_text("x")
    listed: list[str] = []
    scandir = os.scandir

    def recording_scandir(path: Any) -> Any:
        listed.append(os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", recording_scandir)

    async def body(broadcaster: Broadcaster) -> None:
        for folder in ("node_modules/pkg/lib", ".venv/lib/site-packages", "build/out"):
            (tmp_path / folder / "x.html").write_text("changed")
        (tmp_path / "node_modules" / "new.html").write_text("x")
        (tmp_path / "templates" / "page.jinja.tmp").write_text("x")  # an editor's temp file
        (tmp_path / "templates" / "sentinel.css").write_text("x")
        event = await next_event(broadcaster, 0)  # a change in an ignored place would come first, or with it
        assert event.paths == ("templates/sentinel.css",)

    await run_watch(tmp_path, body, ignore_patterns=("build",))
    assert listed, "the poller lists folders with os.scandir"
    assert set(listed) == {str(tmp_path), str(tmp_path / "templates")}


@pytest.mark.usefixtures("polling")
async def test_stop_ends_the_watch_promptly(tmp_path: Path) -> None:
    stop = anyio.Event()
    ended = anyio.Event()

    async def watcher(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        await watch(Config(watch_paths=(tmp_path,)), Broadcaster(), stop, task_status.started)
        ended.set()

    with anyio.fail_after(EVENT_DEADLINE):
        async with anyio.create_task_group() as tg:
            await tg.start(watcher)
            stop.set()
            with anyio.fail_after(2):  # one poll interval, not one watchfiles timeout (5 s)
                await ended.wait()


@pytest.mark.usefixtures("polling")
async def test_a_vanished_root_is_watched_again_when_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "ROOT_POLL", 0.05)
    root = tmp_path / "site"
    root.mkdir()
    (root / "a.html").write_text("x")

    async def body(broadcaster: Broadcaster) -> None:
        shutil.rmtree(root)
        gone = await next_event(broadcaster, 0)
        root.mkdir()
        back = await next_event(broadcaster, gone.version)  # the catch-up reload, once it is watched again
        (root / "a.html").write_text("again")
        again = await next_event(broadcaster, back.version)
        assert again.paths == ("a.html",)

    await run_watch(root, body)


# ---- the poller on a file system whose timestamps are coarse ----


@pytest.fixture
def coarse_folder(tmp_path: Path) -> Iterator[Path]:
    """A ramfs mount: its timestamps move once per kernel tick, so a rewrite right after a write leaves
    mtime, ctime, size and inode all as they were (what a 1-2 s mtime does to saves a second apart)."""
    folder = tmp_path / "ramfs"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a ramfs needs root")
    mounted = subprocess.run(["mount", "-t", "ramfs", "ramfs", str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a ramfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def metadata(path: Path) -> tuple[int, int, int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino


def test_a_rewrite_that_leaves_the_metadata_as_it_was_is_seen(coarse_folder: Path) -> None:
    target = coarse_folder / "index.html"
    target.write_text("<p>v000</p>")
    poller = Poller(ChangeFilter(), 0.01, 0.4)
    folders = watched_folders([coarse_folder], ChangeFilter())
    assert poller.scan(folders) == set()  # the first listing
    unchanged_metadata = 0
    for i in range(1, 21):
        before = metadata(target)
        with target.open("r+") as file:  # in place: same inode, same size
            file.write(f"<p>v{i:03d}</p>")
        unchanged_metadata += metadata(target) == before
        assert poller.scan(folders) == {(Change.modified, str(target))}, f"rewrite {i}"
    assert poller.scan(folders) == set()
    assert unchanged_metadata > 0, "every rewrite moved the metadata: the content check was not exercised"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The poller's monotonic clock, moved by hand: scans that come late, without waiting for them."""
    now = [100.0]
    fake_time = types.SimpleNamespace(monotonic=lambda: now[0], time=time.time, thread_time=time.thread_time)
    monkeypatch.setattr(poll_module, "time", fake_time)
    return now


def rewrite(target: Path, text: str, mtime_ns: int | None = None) -> bool:
    """Rewrite in place (same size), keeping `mtime_ns` if given; whether the metadata stayed as it was."""
    before = metadata(target)
    with target.open("r+") as file:
        file.write(text)
    if mtime_ns is not None:
        os.utime(target, ns=(mtime_ns, mtime_ns))
    return metadata(target) == before


@pytest.mark.parametrize("whole_seconds", [False, True])
def test_a_hidden_rewrite_is_seen_by_a_late_scan(coarse_folder: Path, clock: list[float], whole_seconds: bool) -> None:
    target = coarse_folder / "index.html"
    target.write_text("<p>first</p>")
    # whole seconds: as FAT or HFS+ keep them; the content is then compared for 2 s of our clock, not 0.05 s
    mtime_ns = (int(time.time()) - 10) * 1_000_000_000 if whole_seconds else None
    quiet = 1.0 if whole_seconds else 0.01  # a scan with nothing new, this long after the change was seen
    poller = Poller(ChangeFilter(), 0.01, 0.4)
    folders = [str(coarse_folder)]
    poller.scan(folders)
    for attempt in range(50):
        rewrite(target, f"<p>v{attempt:03d}a</p>", mtime_ns)  # another size than the first: seen at once
        clock[0] += 0.01
        assert poller.scan(folders) == {(Change.modified, str(target))}
        clock[0] += quiet
        assert poller.scan(folders) == set()
        if rewrite(target, f"<p>v{attempt:03d}b</p>", mtime_ns):  # within the same kernel tick: hidden
            break
        clock[0] += 0.01  # a tick went by between the two writes: the metadata shows it; try again
        assert poller.scan(folders) == {(Change.modified, str(target))}
    else:
        pytest.fail("no rewrite left the metadata as it was")
    clock[0] += 30  # and the next scan comes late: a busy machine, a suspended laptop
    assert poller.scan(folders) == {(Change.modified, str(target))}
    clock[0] += 30
    assert poller.scan(folders) == set()
