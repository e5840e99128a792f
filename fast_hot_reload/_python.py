from __future__ import annotations

import logging

from ._broadcast import Broadcaster
from ._config import Config

logger = logging.getLogger(__name__)


async def python_changed(config: Config, broadcaster: Broadcaster, paths: list[str]) -> None:
    """A Python file was saved: the server's reloader restarts for it (the tabs update once it answers)."""
    logger.debug("python changed: %s", ", ".join(paths))
