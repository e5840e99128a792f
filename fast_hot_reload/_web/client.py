from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from .._config import Config

TEMPLATE = "client.js.jinja"
# In a wheel the templates sit inside the package; in a checkout, at the top of the repo.
PACKAGE = Path(__file__).parent.parent
TEMPLATE_DIRS = (PACKAGE / "templates", PACKAGE.parent / "templates")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    folders = [str(folder) for folder in TEMPLATE_DIRS if (folder / TEMPLATE).is_file()]
    if not folders:
        raise RuntimeError(f"fast-hot-reload is installed without its {TEMPLATE}; reinstall the package")
    return jinja2.Environment(loader=jinja2.FileSystemLoader(folders), autoescape=False, keep_trailing_newline=True)


def client_settings(config: Config) -> dict[str, Any]:
    """What the browser needs to know, in the names the script uses."""
    return {
        "transport": "sse" if config.use_alternate_config else "ws",
        "wsHost": config.ws_host_override,
        "wsPort": config.ws_port_override,
        "prefix": config.ws_message_prefix,
        "connectedMessage": config.ws_connected_message,
        "reconnectMessage": config.ws_reconnect_message,
        "reconnectInterval": config.reconnect_interval,
        "fullReload": config.full_reload,
        "forwardConsole": config.forward_console,
    }


@lru_cache(maxsize=32)
def render_client(config: Config) -> tuple[str, str]:
    """The client script for one configuration and a short hash of it for cache-busting URLs."""
    script = _environment().get_template(TEMPLATE).render(config=client_settings(config))
    return script, hashlib.sha256(script.encode()).hexdigest()[:12]
