from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent


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
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True)
    probe = (
        "import fast_hot_reload, fast_hot_reload._client as c\n"
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
