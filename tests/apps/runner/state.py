"""Module-level state the runner must keep: only changed modules (and those importing them) rerun."""

from __future__ import annotations

import uuid

TOKEN = uuid.uuid4().hex  # new each time this module runs
hits = 0
