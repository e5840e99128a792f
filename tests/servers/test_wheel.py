from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from .._support import REPO


@pytest.mark.timeout(300)
def test_wheel_ships_the_client_template(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist"), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("fast_hot_reload-*.whl")
    assert "fast_hot_reload/templates/client.js.jinja" in zipfile.ZipFile(wheel).namelist()

    # a fresh venv that borrows the dependencies but gets the package from the wheel alone
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    borrow_dependencies(python)
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True)
    probe = (
        "import fast_hot_reload, fast_hot_reload._web.client as c\n"
        "from fast_hot_reload._config import Config\n"
        "script, digest = c.render_client(Config(ws_message_prefix='[from wheel]'))\n"
        "print(fast_hot_reload.__file__)\n"
        "print(c._environment().loader.searchpath)\n"
        "assert '[from wheel]' in script and 'SharedWorker' in script, script[:200]\n"
    )
    out = subprocess.run([python, "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    module_file, search_path = out.splitlines()
    assert module_file.startswith(str(venv)), module_file
    assert str(venv) in search_path and str(REPO) not in search_path, search_path


def borrow_dependencies(python: Path) -> None:
    """Put this interpreter's site-packages on the venv's path, after its own.

    `venv --system-site-packages` would borrow the base interpreter's, which lacks the dependencies
    when the tests run in a venv. Paths named in a .pth file are not site dirs, so the editable
    install's own .pth (the checkout) is not followed: the package comes from the wheel alone.
    """
    theirs = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = dict.fromkeys((sysconfig.get_path("purelib"), sysconfig.get_path("platlib")))
    (Path(theirs) / "zz_borrowed.pth").write_text("\n".join(ours) + "\n")
