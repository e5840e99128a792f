from __future__ import annotations

import linecache
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

import jinja2

from .details import Details, details
from .frames import keeps_ours, ours
from .paths import MAX_LINE, ShortPaths, clip

MAX_FRAMES = 50  # innermost kept: the outer ones are the server's plumbing
MAX_MESSAGE = 2000
MAX_CHAIN = 3
CONTEXT = 2  # source lines shown either side of the error's line


def describe_exception(exc: BaseException, roots: tuple[Path, ...]) -> Details:
    """Describe an exception for the error overlay and the console, with no absolute paths.

    Args:
        exc: what a route, a template or `compile()` raised.
        roots: the app's folders; frames under them (outside virtualenvs) are the app's own,
            and their paths are shown relative to them.

    Returns a JSON-able dict: kind ("template", "syntax" or "exception"), title, message, location,
    source (lines around the location), frames (innermost last), chain and text (all of it as plain text).
    It never raises: `describe_exception(KeyError("user"), (Path.cwd(),))["title"] == "KeyError"`.
    """
    try:
        return _describe(_unwrap(exc), ShortPaths(roots))
    except Exception as failure:  # a broken exception must not hide the error page it is for
        return details("exception", _title(exc), f"(could not describe this error: {_title(failure)})")


def _unwrap(exc: BaseException) -> BaseException:
    # a task group's group of one says nothing the error inside does not
    for _ in range(10):
        inner = getattr(exc, "exceptions", None)
        if not type(exc).__name__.endswith("ExceptionGroup") or not isinstance(inner, tuple) or len(inner) != 1:
            break
        exc = inner[0]
    return exc


def _describe(exc: BaseException, paths: ShortPaths) -> Details:
    # our own frames (the layers, the Jinja hook) say nothing about the app's error, unless it was raised in them
    stack = list(traceback.walk_tb(exc.__traceback__))
    everything = keeps_ours([frame.f_code.co_filename for frame, _ in stack])
    walked = [_frame_of(frame, line) for frame, line in stack if everything or not ours(frame.f_code.co_filename)]
    kept = walked[-MAX_FRAMES:]
    for filename in {frame[0] for frame in kept}:
        linecache.checkcache(filename)  # a file saved since it was cached shows as it is now
    frames = [_frame(paths, *frame) for frame in kept]
    kind, where = _where(exc, walked, paths)
    location = None
    if where is not None:
        filename, line, column, template, _ = where
        template = clip(template, 200) if template else None
        location = {"file": paths.short(filename)[0], "line": line, "column": column, "template": template}
    described = details(
        kind,
        _title(exc),
        paths.scrub(clip(_message(exc), MAX_MESSAGE)),
        location=location,
        source=_excerpt(paths.absolute(where[0]), where[1], where[4]) if where else None,
        frames=frames,
        chain=_chain(exc, paths),
    )
    described["text"] = _text(described, len(walked) - len(kept))
    return described


Where = tuple[str, int, int | None, str | None, dict[int, str] | None]


def _where(exc: BaseException, walked: list[tuple[str, int, str, bool]], paths: ShortPaths) -> tuple[str, Where | None]:
    """The kind of error, and where it is: file, line, column, template name and the lines if not from the file."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        lines = dict(enumerate(exc.source.splitlines(), 1)) if isinstance(exc.source, str) else None
        return "template", (exc.filename or exc.name or "<template>", exc.lineno, None, exc.name, lines)
    if isinstance(exc, SyntaxError):
        if not exc.lineno:
            return "syntax", None
        filename = exc.filename or "<unknown>"
        on_disk = not filename.startswith("<") and Path(filename).is_file()
        known = None if on_disk or exc.text is None else {exc.lineno: exc.text}
        return "syntax", (filename, exc.lineno, exc.offset, None, known)
    templates = [frame for frame in walked if frame[3]]
    if templates:  # raised while a template rendered: its innermost line is where to look
        filename, line = templates[-1][:2]
        return "template", (filename, line, None, _template_name(exc, filename), None)
    kind = "template" if isinstance(exc, jinja2.TemplateError) else "exception"
    own = [frame for frame in walked if paths.short(frame[0])[1]]
    return kind, (own[-1][0], own[-1][1], None, None, None) if own else None


def _title(exc: BaseException) -> str:
    kind = type(exc)
    module = str(getattr(kind, "__module__", "") or "")
    name = str(getattr(kind, "__qualname__", kind.__name__))
    return clip(name if module in ("builtins", "__main__", "") else f"{module}.{name}", 200)


def _message(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError) and isinstance(exc.msg, str):
        return exc.msg  # str() would add the absolute file name
    if isinstance(exc, jinja2.TemplateSyntaxError) and isinstance(exc.message, str):
        return exc.message
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__} object>"


def _frame_of(frame: FrameType, line: int | None) -> tuple[str, int, str, bool]:
    """File, line, function and whether it is template code: the template's file and line if so."""
    name = frame.f_code.co_name
    if "__jinja_exception__" in frame.f_globals:  # a frame Jinja rewrote to point at the template
        return frame.f_code.co_filename, line or 0, name, True
    template = frame.f_globals.get("__jinja_template__")
    if isinstance(template, jinja2.Template) and template.filename:  # template code Jinja did not rewrite
        return template.filename, template.get_corresponding_lineno(line or 0), name, True
    return frame.f_code.co_filename, line or 0, name, False


def _frame(paths: ShortPaths, filename: str, line: int, function: str, _: bool) -> dict[str, Any]:
    short, app = paths.short(filename)
    try:
        code = clip(linecache.getline(filename, line).strip(), MAX_LINE) if line > 0 else ""
    except Exception:  # an unreadable file: the frame without its line
        code = ""
    return {"file": short, "line": line, "function": clip(function, 200), "code": code, "app": app}


def _template_name(exc: BaseException, filename: str) -> str | None:
    """The name the app's Jinja environment knows a template file by, found from the render call."""
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        if "self" not in frame.f_code.co_varnames or "__jinja_exception__" in frame.f_globals:
            continue  # only a method's frame can hold the Template or Environment; a template frame holds user data
        owner = frame.f_locals.get("self")
        env = owner.environment if isinstance(owner, jinja2.Template) else owner
        if not isinstance(env, jinja2.Environment):
            continue
        for template in env.cache.values() if env.cache is not None else ():
            if isinstance(template, jinja2.Template) and template.filename == filename:
                return template.name
        loaders = getattr(env.loader, "loaders", [env.loader])
        for loader in loaders:
            for folder in getattr(loader, "searchpath", ()):
                relative = ShortPaths.relative(filename, str(folder))
                if relative is not None:
                    return relative
    return None


def _excerpt(filename: str, line: int, known: dict[int, str] | None) -> list[dict[str, Any]] | None:
    """The lines around `line`, from `known` or else from the file as it is now."""
    if known is None:
        try:
            linecache.checkcache(filename)
            known = dict(enumerate(linecache.getlines(filename), 1))
        except Exception:  # unreadable: the overlay shows the message without the source
            return None
    if line not in known:
        return None
    numbers = [n for n in range(line - CONTEXT, line + CONTEXT + 1) if n in known]
    return [{"line": n, "text": clip(known[n].rstrip("\r\n"), MAX_LINE), "current": n == line} for n in numbers]


def _chain(exc: BaseException, paths: ShortPaths) -> list[dict[str, Any]]:
    """The exceptions this one came from, nearest first, briefly."""
    chain: list[dict[str, Any]] = []
    seen = {id(exc)}
    while len(chain) < MAX_CHAIN:
        cause = exc.__cause__
        relation = "cause"
        if cause is None and not exc.__suppress_context__:
            cause, relation = exc.__context__, "context"
        if cause is None or id(cause) in seen:
            break
        seen.add(id(cause))
        message = paths.scrub(clip(_message(cause), MAX_MESSAGE // 4))
        chain.append({"relation": relation, "title": _title(cause), "message": message})
        exc = cause
    return chain


def _text(details: dict[str, Any], omitted: int) -> str:
    lines = [f"{details['title']}: {details['message']}"]
    where = details["location"]
    if where:
        column = f":{where['column']}" if where["column"] else ""
        template = f" (template {where['template']})" if where["template"] else ""
        lines.append(f"  at {where['file']}:{where['line']}{column}{template}")
    for row in details["source"] or ():
        lines.append(f"{'>' if row['current'] else ' '} {row['line']:>5} | {row['text']}")
    if details["frames"]:
        lines += ["", "Traceback (most recent call last):"]
        if omitted:
            lines.append(f"  ... {omitted} older frames left out")
        folded = 0
        frames = details["frames"]
        for i, frame in enumerate(frames):
            if not frame["app"] and i < len(frames) - 1:  # the innermost frame shows even in a library
                folded += 1
                continue
            if folded:
                lines.append(f"  ... {folded} library frame{'s' if folded > 1 else ''}")
                folded = 0
            lines.append(f'  File "{frame["file"]}", line {frame["line"]}, in {frame["function"]}')
            if frame["code"]:
                lines.append(f"    {frame['code']}")
    lines += [""] if details["chain"] else []
    for link in details["chain"]:
        said = "caused by" if link["relation"] == "cause" else "while handling"
        lines.append(f"{said}: {link['title']}: {link['message']}")
    return "\n".join(lines)
