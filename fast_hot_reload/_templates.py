from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

RENDERED: ContextVar[set[str] | None] = ContextVar("fast_hot_reload_rendered", default=None)
HOOKED = "_fast_hot_reload_hooked"


def hook_jinja() -> None:
    """Make every Jinja Environment note the files of the templates it loads into the request's record.

    Extends, include and import all go through `Environment._load_template` (cached or not), so one
    wrap sees every template a page used, dynamic includes too. Outside a recorded request it only
    reads a context variable. Done once per process, and only when hot reload is on.
    """
    try:
        from jinja2 import Environment
    except ImportError:  # no Jinja: pages' templates stay unknown, and they update as before
        return
    original = getattr(Environment, "_load_template", None)
    if original is None or getattr(original, HOOKED, False):
        return

    def _load_template(self: Any, name: Any, globals: Any) -> Any:
        template = original(self, name, globals)
        rendered = RENDERED.get()
        if rendered is not None and template.filename:
            rendered.add(template.filename)
        return template

    setattr(_load_template, HOOKED, True)
    Environment._load_template = _load_template  # type: ignore[method-assign]


@contextmanager
def recording() -> Iterator[set[str]]:
    """The files of the templates loaded while the block runs (this task, and threads it starts with its context)."""
    rendered: set[str] = set()
    token = RENDERED.set(rendered)
    try:
        yield rendered
    finally:
        RENDERED.reset(token)
