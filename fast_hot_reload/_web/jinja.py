"""The Jinja hook: which templates each page rendered, includes and extends too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .request import CURRENT

HOOKED = "_fast_hot_reload_hooked"


def hook_jinja() -> None:
    """Make Jinja note the file of every template a request loads or renders in the request's record.

    Extends, include and import go through `Environment._load_template`, and every render of a template
    object (one loaded at import time too) through `Template.new_context`: wrapping the two sees every
    template a page used, dynamic includes too. Outside a recorded request they only read a context
    variable. Done once per process, and only while hot reload is on.
    """
    try:
        from jinja2 import Environment, Template
    except ImportError:  # no Jinja: pages' templates stay unknown, and they update on any template change
        return
    _wrap(Environment, "_load_template", lambda _environment, template: template)
    _wrap(Template, "new_context", lambda template, _context: template)


def _wrap(owner: type, name: str, template_of: Callable[[Any, Any], Any]) -> None:
    """Wrap `owner.name` so that the template `template_of(self, result)` is noted; once only."""
    original = getattr(owner, name, None)
    if original is None or getattr(original, HOOKED, False):
        return  # another Jinja than the one we know, or hooked already

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        record = CURRENT.get()
        if record is not None and (filename := template_of(self, result).filename):
            if record.rendered is None:
                record.rendered = set()
            record.rendered.add(filename)
        return result

    setattr(wrapper, HOOKED, True)
    setattr(owner, name, wrapper)
