"""The worker group's files: private folders only, a log that stays small, and no folders left by killed servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fast_hot_reload._config import Config
from fast_hot_reload._events import group as _group
from fast_hot_reload._events.group import UnsafeFolder, join_group, private_folder

pytestmark = pytest.mark.skipif(_group.fcntl is None, reason="no flock here: workers do not share a group")


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(_group.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv("FAST_HOT_RELOAD_GROUP", raising=False)
    return tmp_path / f"fast-hot-reload-{os.getuid()}"


def test_a_link_in_place_of_our_folder_is_refused(temp: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    temp.symlink_to(theirs)
    assert join_group(Config(watch_paths=(tmp_path,))) is None
    assert list(theirs.iterdir()) == []  # nothing written through the link
    assert "is not a folder (a link?)" in caplog.text


def test_a_folder_others_can_write_to_is_refused(temp: Path) -> None:
    temp.mkdir()
    temp.chmod(0o777)
    with pytest.raises(UnsafeFolder, match="can be written by other users"):
        private_folder(temp)


@pytest.mark.skipif(os.getuid() != 0, reason="only root can make a folder that belongs to someone else")
def test_a_folder_of_another_user_is_refused(temp: Path) -> None:
    temp.mkdir(mode=0o700)
    os.chown(temp, 1, 1)
    with pytest.raises(UnsafeFolder, match="belongs to another user"):
        private_folder(temp)


def test_our_own_readable_folder_is_made_private(temp: Path) -> None:
    temp.mkdir()
    temp.chmod(0o755)  # as an older release left it
    private_folder(temp)
    assert temp.stat().st_mode & 0o777 == 0o700


def test_the_log_is_rewritten_small_and_a_member_applies_each_entry_once(temp: Path, tmp_path: Path) -> None:
    config = Config(watch_paths=(tmp_path,))
    leader = join_group(config)
    member = join_group(config)
    assert leader is not None and member is not None and leader.folder == member.folder
    assert leader.lead() and not member.lead()
    seen: list[int] = []
    for version in range(1, 3001):
        leader.append({"t": "event", "version": version, "kind": "reload", "paths": ["x" * 200]})
        if version % 7 == 0:
            seen += [entry["version"] for entry in member.read_new()]
    seen += [entry["version"] for entry in member.read_new()]
    assert seen == list(range(1, 3001))  # none lost, none twice, across every rewrite
    assert (leader.folder / "events.jsonl").stat().st_size <= _group.LOG_LIMIT + 1024
    late = join_group(config)
    assert late is not None
    versions = [entry["version"] for entry in late.read_new()]
    assert versions == list(range(3001 - len(versions), 3001)) and len(versions) >= _group.KEEP_EVENTS
    for group in (late, member, leader):
        group.leave()
    assert not leader.folder.exists()


def test_folders_left_by_killed_servers_are_removed(temp: Path, tmp_path: Path) -> None:
    # a server killed with SIGKILL never leaves its group: its folder stays, with nobody in it
    script = (
        "import sys, os, signal; from pathlib import Path; import tempfile; tempfile.gettempdir = lambda: sys.argv[1]\n"
        "from fast_hot_reload._events.group import join_group; from fast_hot_reload._config import Config\n"
        "group = join_group(Config(watch_paths=(Path(sys.argv[1]),))); print(group.folder, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=False)
    left = Path(run.stdout.strip())
    assert left.is_dir() and left.parent == temp, run.stderr
    old = time.time() - _group.STALE_AGE - 1
    os.utime(left, (old, old))
    alive = join_group(Config(watch_paths=(tmp_path,), url_prefix="/other"))  # another group, in use
    assert alive is not None
    os.utime(alive.folder, (old, old))
    again = join_group(Config(watch_paths=(tmp_path,), url_prefix="/third"))
    assert again is not None
    assert not left.exists()  # nobody in it: swept
    assert alive.folder.is_dir()  # a member holds it
    for group in (again, alive):
        group.leave()


def test_entries_are_numbered_and_timed(temp: Path, tmp_path: Path) -> None:
    group = join_group(Config(watch_paths=(tmp_path,)))
    assert group is not None
    group.append({"t": "end", "seconds": 3})
    (line,) = (group.folder / "events.jsonl").read_text().splitlines()
    entry = json.loads(line)
    assert entry["n"] == 1 and abs(entry["at"] - time.time()) < 60
    group.leave()
