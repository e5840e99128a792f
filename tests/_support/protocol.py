"""The wire protocol's shared table: the catch-up cases that the Python rule (tests/unit/test_protocol.py) and the
client's rule (tests/browser/test_protocol_client.py) must both pass."""

from __future__ import annotations

import json
from typing import Any

from . import TESTS

MERGE_TABLE: dict[str, Any] = json.loads((TESTS / "_support" / "merge_cases.json").read_text(encoding="utf-8"))
MERGE_CASES: list[dict[str, Any]] = MERGE_TABLE["cases"]
