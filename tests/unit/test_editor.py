"""Which command opens the editor at a line: the variables first, each editor's own way of naming a line, a terminal
editor in a terminal window of its own, never a shell."""

from __future__ import annotations

from pathlib import Path

import pytest

from fast_hot_reload._web import editor
from fast_hot_reload._web.editor import editor_argv

FILE = Path("/project/templates/index.html")


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("code", ["code", "-g", f"{FILE}:12:3"]),
        ("code --wait", ["code", "-g", f"{FILE}:12:3"]),  # as set for git: nothing waits here
        ("/opt/cursor/cursor", ["/opt/cursor/cursor", "-g", f"{FILE}:12:3"]),
        ("subl -w", ["subl", f"{FILE}:12:3"]),
        ("zed", ["zed", f"{FILE}:12:3"]),
        ("pycharm", ["pycharm", "--line", "12", "--column", "3", str(FILE)]),
        ("idea", ["idea", "--line", "12", "--column", "3", str(FILE)]),
        ("emacsclient -c", ["emacsclient", "-c", "-n", "+12:3", str(FILE)]),
        ("mate", ["mate", "-l", "12:3", str(FILE)]),
        ("'/Applications/My Editor/bin/edit'", ["/Applications/My Editor/bin/edit", "+12", str(FILE)]),
        ("gedit; rm -rf ~", ["gedit;", "rm", "-rf", "~", "+12", str(FILE)]),  # an argv, never a shell: `gedit;` fails
    ],
)
def test_each_editor_gets_the_line_its_own_way(command: str, argv: list[str]) -> None:
    assert editor_argv(FILE, 12, 3, {"VISUAL": command}) == argv


def test_the_variables_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(editor.shutil, "which", lambda name: None)
    both = {"VISUAL": "subl", "EDITOR": "code"}
    assert editor_argv(FILE, 1, 1, both)[0] == "subl"
    assert editor_argv(FILE, 1, 1, {**both, "FAST_HOT_RELOAD_EDITOR": "zed"})[0] == "zed"
    assert editor_argv(FILE, 1, 1, {"EDITOR": "code", "VISUAL": "'unbalanced"})[0] == "code"
    assert editor_argv(FILE, 1, 1, {}) is None


def test_a_known_editor_on_path_when_no_variable_names_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(editor.shutil, "which", lambda name: "/usr/bin/subl" if name == "subl" else None)
    assert editor_argv(FILE, 4, 2, {}) == ["/usr/bin/subl", f"{FILE}:4:2"]


def test_a_terminal_editor_opens_in_a_terminal_window(monkeypatch: pytest.MonkeyPatch) -> None:
    found = {"gnome-terminal": "/usr/bin/gnome-terminal"}
    monkeypatch.setattr(editor.shutil, "which", found.get)
    monkeypatch.delenv("TERMINAL", raising=False)
    assert editor_argv(FILE, 7, 1, {"EDITOR": "vim"}) == ["/usr/bin/gnome-terminal", "--", "vim", "+7", str(FILE)]
    found["code"] = "/usr/bin/code"
    found.pop("gnome-terminal")  # no terminal to open: the server's own is not the editor's; a GUI editor instead
    assert editor_argv(FILE, 7, 1, {"EDITOR": "nvim"}) == ["/usr/bin/code", "-g", f"{FILE}:7:1"]
    found.pop("code")
    assert editor_argv(FILE, 7, 1, {"EDITOR": "nano"}) is None
