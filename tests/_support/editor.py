"""A stand-in for the developer's editor: a script named like one (`code`) that records the argv it was started
with, so that tests of "open in editor" never open a real one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCRIPT = """#!{python}
import json, sys
with open({record!r}, "a") as out:
    out.write(json.dumps(sys.argv[1:]) + "\\n")
"""


class RecordingEditor:
    """`env` points FAST_HOT_RELOAD_EDITOR (and VISUAL, EDITOR) at the script; `calls()` are the argvs it got."""

    def __init__(self, folder: Path, name: str = "code") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.record = folder / "calls.jsonl"
        self.path = folder / name
        self.path.write_text(SCRIPT.format(python=sys.executable, record=str(self.record)))
        self.path.chmod(0o755)
        self.env = {"FAST_HOT_RELOAD_EDITOR": str(self.path), "VISUAL": str(self.path), "EDITOR": str(self.path)}

    def calls(self) -> list[list[str]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]
