"""What the test folders (unit, asgi, servers, browser) share: helpers by concern, no tests. conftest.py holds
the fixtures."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).parent.parent  # tests/: apps/, .vendor/
REPO = TESTS.parent  # the checkout: templates/, example_app/
