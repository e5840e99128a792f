"""The benchmark page with no hot reload at all: the baseline."""

from __future__ import annotations

from page import create_app

MESSAGE = "python-v1"

app = create_app(MESSAGE)
