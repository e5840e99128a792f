"""Open the developer's editor at a file and line: only files under the watched folders, only an argv, no shell."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

logger = logging.getLogger("fast_hot_reload.editor")

ENV_EDITOR = "FAST_HOT_RELOAD_EDITOR"  # before $VISUAL and $EDITOR: an editor for this alone (git keeps $EDITOR)
MAX_NAME = 1000  # characters of a file name a tab may send
# editors found on PATH when no variable names one, in this order
KNOWN = ("code", "cursor", "windsurf", "codium", "zed", "subl", "pycharm", "charm", "idea", "webstorm")
GOTO = frozenset(("code", "code-insiders", "codium", "vscodium", "cursor", "windsurf"))  # -g file:line:col
COLON = frozenset(("subl", "sublime_text", "zed", "zeditor"))  # file:line:col
JETBRAINS = frozenset(("idea", "pycharm", "charm", "webstorm", "phpstorm", "goland", "rubymine", "clion", "rider"))
TERMINAL = frozenset(("vi", "vim", "nvim", "nano", "emacs", "micro", "kak", "hx", "helix", "joe", "ne", "mcedit"))
# where a terminal editor opens (the server's own terminal is the server's), and how each takes a command
EMULATORS = (
    ("x-terminal-emulator", ("-e",)),
    ("gnome-terminal", ("--",)),
    ("konsole", ("-e",)),
    ("kitty", ()),
    ("alacritty", ("-e",)),
    ("wezterm", ("start", "--")),
    ("foot", ()),
    ("xterm", ("-e",)),
)


def resolve(file: object, roots: Iterable[Path]) -> Path | None:
    """The real file a tab names, relative to a watched folder, or None: no absolute path, no `..`, no symlink
    out of the folder (the real path is checked against the folder's real path), nothing but a regular file."""
    if not isinstance(file, str) or not file or len(file) > MAX_NAME or "\x00" in file or "\\" in file:
        return None
    relative = PurePosixPath(file)
    if relative.is_absolute() or ".." in relative.parts or (relative.parts and ":" in relative.parts[0]):
        return None
    for root in roots:
        real_root = os.path.realpath(root)
        if os.path.isfile(real_root):  # a watched file: its own name is the whole path
            candidate = real_root if relative.as_posix() == Path(root).name else None
        else:
            candidate = os.path.realpath(os.path.join(real_root, *relative.parts))
            if not candidate.startswith(real_root.rstrip(os.sep) + os.sep):
                candidate = None
        if candidate is not None and os.path.isfile(candidate):
            return Path(candidate)
    return None


def editor_argv(file: Path, line: int, column: int, environ: Mapping[str, str] | None = None) -> list[str] | None:
    """The command that opens `file` at `line` in the developer's editor, or None when there is none to use."""
    variables = os.environ if environ is None else environ
    for variable in (ENV_EDITOR, "VISUAL", "EDITOR"):
        try:
            command = shlex.split(variables.get(variable, ""))
        except ValueError:  # an unbalanced quote: not a command we can read
            continue
        argv = _argv(command, file, line, column) if command else None
        if argv is not None:
            return argv
    for name in KNOWN:
        found = shutil.which(name)
        if found:
            return _argv([found], file, line, column)
    return None


def _argv(command: Sequence[str], file: Path, line: int, column: int) -> list[str] | None:
    name = os.path.basename(command[0]).lower().removesuffix(".exe").removesuffix(".cmd")
    command = [part for part in command if part not in ("--wait", "-w")]  # for git; nothing waits here
    at = f"{file}:{line}:{column}"
    if name in GOTO:
        return [*command, "-g", at]
    if name in COLON:
        return [*command, at]
    if name in JETBRAINS:
        return [*command, "--line", str(line), "--column", str(column), str(file)]
    if name == "emacsclient":
        return [*command, "-n", f"+{line}:{column}", str(file)]
    if name == "mate":
        return [*command, "-l", f"{line}:{column}", str(file)]
    argv = [*command, f"+{line}", str(file)]  # vi's convention, which most editors follow
    if name not in TERMINAL:
        return argv
    return _in_terminal(argv)


def _in_terminal(argv: list[str]) -> list[str] | None:
    """A terminal editor in a new terminal window; None where there is no terminal emulator to open."""
    try:
        own = shlex.split(os.environ.get("TERMINAL", ""))
    except ValueError:
        own = []
    if own and shutil.which(own[0]):
        return [*own, "-e", *argv]
    for name, flags in EMULATORS:
        found = shutil.which(name)
        if found:
            return [found, *flags, *argv]
    return None


def launch(argv: list[str]) -> str | None:
    """Start the editor and return at once (None), or what went wrong; the child is reaped by a thread."""
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl+C in the server's terminal is not the editor's
        )
    except OSError as exc:
        logger.warning("could not start the editor %r: %s", argv[0], exc)
        return f"could not start the editor {argv[0]!r}: {exc.strerror or exc}"
    threading.Thread(target=process.wait, name="fast-hot-reload-editor", daemon=True).start()
    return None


NO_EDITOR = (
    "no editor to open: set FAST_HOT_RELOAD_EDITOR, VISUAL or EDITOR to one (code, cursor, subl, zed, pycharm, "
    "idea, emacsclient; vim or nano open in a terminal window where one can be started), or put code on PATH"
)
