from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
import uuid
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest
from starlette.testclient import TestClient

from fast_hot_reload._errors import describe as _errors
from fast_hot_reload._errors.describe import describe_exception
from fast_hot_reload._web.error_page import render_error_page as error_page

TAG = b'<script src="/__hot_reload/client.js" defer></script>'
TEMPLATES = {
    "base.html": """\
        <!DOCTYPE html>
        <title>{% block title %}Site{% endblock %}</title>
        <main>
        {% block content %}{% endblock %}
        </main>
        """,
    "child.html": """\
        {% extends "base.html" %}
        {% block content %}
          <h1>Profile</h1>
          <p>{{ user.name }}</p>
          <p>Thanks</p>
        {% endblock %}
        """,
    "syntax.html": """\
        <ul>
        {% for item in items %}
          <li>{{ item }}</li>
        {% endif %}
        </ul>
        """,
    "undefined.html": """\
        <header>Shop</header>
        <p>Hello</p>
        <p>{{ user.name }}</p>
        <footer></footer>
        """,
    "include_missing.html": """\
        <div>
        {% include "partials/missing.html" %}
        </div>
        """,
    "include_bad.html": """\
        <div>
        {% include "partials/bad.html" %}
        </div>
        """,
    "partials/bad.html": """\
        <span>before</span>
        <span>{{ 1 / 0 }}</span>
        """,
    "hostile.html": """\
        <p>ok</p>
        <img src=x onerror="window.pwned = 1">{{ boom() }}
        """,
}


def no_absolute_paths(details: dict[str, Any], root: Path) -> None:
    dumped = json.dumps(details)
    for path in {str(root), str(root.resolve()), sys.prefix, "/root", "/usr", "/tmp"}:
        assert path not in dumped, f"{path} in {dumped}"


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, jinja2.Environment]:
    for name, text in TEMPLATES.items():
        path = tmp_path / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path, jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path / "templates")))


def failure(action: Callable[[], object]) -> BaseException:
    with pytest.raises(BaseException) as info:
        action()
    return info.value


def test_template_syntax_error(site: tuple[Path, jinja2.Environment]) -> None:
    root, env = site
    exc = failure(lambda: env.get_template("syntax.html"))
    assert isinstance(exc, jinja2.TemplateSyntaxError)
    details = describe_exception(exc, (root,))
    assert details["kind"] == "template"
    assert details["title"] == "jinja2.exceptions.TemplateSyntaxError"
    assert details["message"] == exc.message  # its wording varies with the Jinja version
    assert details["message"].startswith("Encountered unknown tag 'endif'.")
    assert details["location"] == {
        "file": "templates/syntax.html",
        "line": 4,
        "column": None,
        "template": "syntax.html",
    }
    assert details["source"] == [
        {"line": 2, "text": "{% for item in items %}", "current": False},
        {"line": 3, "text": "  <li>{{ item }}</li>", "current": False},
        {"line": 4, "text": "{% endif %}", "current": True},
        {"line": 5, "text": "</ul>", "current": False},
    ]
    assert details["frames"][-1] == {
        "file": "templates/syntax.html",
        "line": 4,
        "function": "template",
        "code": "{% endif %}",
        "app": True,
    }
    assert details["frames"][0]["file"] == "test_errors.py" and not details["frames"][0]["app"]  # outside the root
    assert {f["file"] for f in details["frames"][:-1]} == {
        "test_errors.py",
        "site-packages/jinja2/environment.py",
        "site-packages/jinja2/loaders.py",
    }
    assert details["chain"] == []
    head = f"jinja2.exceptions.TemplateSyntaxError: {exc.message}\n  at templates/syntax.html:4 (template syntax.html)"
    excerpt = "\n      2 | {% for item in items %}\n      3 |   <li>{{ item }}</li>\n>     4 | {% endif %}\n"
    assert details["text"].startswith(head + excerpt + "      5 | </ul>\n\nTraceback (most recent call last):\n")
    assert details["text"].endswith('  File "templates/syntax.html", line 4, in template\n    {% endif %}')
    no_absolute_paths(details, root)


def test_template_syntax_error_from_a_string_uses_its_source(tmp_path: Path) -> None:
    env = jinja2.Environment()
    details = describe_exception(failure(lambda: env.from_string("a\n{{ x + }}\nc")), (tmp_path,))
    assert details["kind"] == "template"
    assert details["location"] == {"file": "<template>", "line": 2, "column": None, "template": None}
    assert [row["text"] for row in details["source"]] == ["a", "{{ x + }}", "c"]
    assert details["source"][1]["current"]


def test_undefined_in_a_template(site: tuple[Path, jinja2.Environment]) -> None:
    root, env = site
    details = describe_exception(failure(lambda: env.get_template("undefined.html").render()), (root,))
    assert details["kind"] == "template"
    assert details["title"] == "jinja2.exceptions.UndefinedError"
    assert details["message"] == "'user' is undefined"
    assert details["location"] == {
        "file": "templates/undefined.html",
        "line": 3,
        "column": None,
        "template": "undefined.html",
    }
    assert details["source"] == [
        {"line": 1, "text": "<header>Shop</header>", "current": False},
        {"line": 2, "text": "<p>Hello</p>", "current": False},
        {"line": 3, "text": "<p>{{ user.name }}</p>", "current": True},
        {"line": 4, "text": "<footer></footer>", "current": False},
    ]
    template_frames = [f for f in details["frames"] if f["file"].startswith("templates/")]
    assert template_frames == [
        {
            "file": "templates/undefined.html",
            "line": 3,
            "function": "top-level template code",
            "code": "<p>{{ user.name }}</p>",
            "app": True,
        }
    ]
    assert details["frames"][-1]["file"] == "site-packages/jinja2/environment.py"  # Undefined's own getattr
    assert details["frames"][-1]["app"] is False
    no_absolute_paths(details, root)


def not_found(name: str) -> tuple[str, str]:
    # TemplateNotFound's message names the search path (shortened) from Jinja2 3.1.5 on, the template alone before
    return f"'{name}' not found in search path: 'templates'", name


def test_missing_include_points_at_the_including_line(site: tuple[Path, jinja2.Environment]) -> None:
    root, env = site
    details = describe_exception(failure(lambda: env.get_template("include_missing.html").render()), (root,))
    assert details["kind"] == "template"
    assert details["title"] == "jinja2.exceptions.TemplateNotFound"
    assert details["message"] in not_found("partials/missing.html")
    assert details["location"] == {
        "file": "templates/include_missing.html",
        "line": 2,
        "column": None,
        "template": "include_missing.html",
    }
    assert [row["current"] for row in details["source"]] == [False, True, False]
    assert details["source"][1]["text"] == '{% include "partials/missing.html" %}'
    no_absolute_paths(details, root)


def test_error_in_an_included_template(site: tuple[Path, jinja2.Environment]) -> None:
    root, env = site
    details = describe_exception(failure(lambda: env.get_template("include_bad.html").render()), (root,))
    assert details["kind"] == "template"
    assert (details["title"], details["message"]) == ("ZeroDivisionError", "division by zero")
    assert details["location"] == {
        "file": "templates/partials/bad.html",
        "line": 2,
        "column": None,
        "template": "partials/bad.html",
    }
    template_frames = [(f["file"], f["line"]) for f in details["frames"] if f["file"].startswith("templates/")]
    assert template_frames == [("templates/include_bad.html", 2), ("templates/partials/bad.html", 2)]
    no_absolute_paths(details, root)


def test_error_in_an_extends_child_block(site: tuple[Path, jinja2.Environment]) -> None:
    root, env = site
    details = describe_exception(failure(lambda: env.get_template("child.html").render()), (root,))
    assert details["message"] == "'user' is undefined"
    assert details["location"] == {"file": "templates/child.html", "line": 4, "column": None, "template": "child.html"}
    assert details["source"][2] == {"line": 4, "text": "  <p>{{ user.name }}</p>", "current": True}
    template_frames = [(f["file"], f["line"], f["function"]) for f in details["frames"] if f["app"]]
    assert template_frames == [
        ("templates/child.html", 1, "top-level template code"),
        ("templates/base.html", 4, "top-level template code"),
        ("templates/child.html", 4, "block 'content'"),
    ]
    no_absolute_paths(details, root)


MAIN = """\
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates

app = FastAPI()
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def load_user(user_id):
    users = {1: {"name": "Ada"}}
    return users[user_id]


@app.get("/users/{user_id}")
def user(user_id: int):
    return load_user(user_id)


@app.get("/profile")
async def profile(request: Request):
    return templates.TemplateResponse(request, "child.html", {})


@app.get("/gone")
async def gone(request: Request):
    return templates.TemplateResponse(request, "gone.html", {})


@app.get("/file")
async def file():
    return (Path(__file__).parent / "data" / "missing.json").read_text()
"""


@pytest.fixture
def client(site: tuple[Path, jinja2.Environment]) -> TestClient:
    root, _ = site
    (root / "main.py").write_text(MAIN)
    spec = importlib.util.spec_from_file_location(f"errors_app_{uuid.uuid4().hex}", root / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return TestClient(module.app)


def test_route_exception_has_app_and_library_frames(site: tuple[Path, jinja2.Environment], client: TestClient) -> None:
    root, _ = site
    details = describe_exception(failure(lambda: client.get("/users/2")), (root,))
    assert details["kind"] == "exception"
    assert (details["title"], details["message"]) == ("KeyError", "2")
    assert details["location"] == {"file": "main.py", "line": 12, "column": None, "template": None}
    assert details["source"] == [
        {"line": 10, "text": "def load_user(user_id):", "current": False},
        {"line": 11, "text": '    users = {1: {"name": "Ada"}}', "current": False},
        {"line": 12, "text": "    return users[user_id]", "current": True},
        {"line": 13, "text": "", "current": False},
        {"line": 14, "text": "", "current": False},
    ]
    app_frames = [f for f in details["frames"] if f["app"]]
    assert app_frames == [
        {"file": "main.py", "line": 17, "function": "user", "code": "return load_user(user_id)", "app": True},
        {"file": "main.py", "line": 12, "function": "load_user", "code": "return users[user_id]", "app": True},
    ]
    assert details["frames"][-1] == app_frames[-1]  # innermost last
    library = [f["file"] for f in details["frames"] if not f["app"]]
    assert "site-packages/starlette/routing.py" in library and "site-packages/fastapi/routing.py" in library
    assert all(f.startswith(("site-packages/", "<python>/")) or "/" not in f for f in library), library
    assert len(details["frames"]) <= _errors.MAX_FRAMES
    assert details["text"].endswith(
        ' library frames\n  File "main.py", line 17, in user\n    return load_user(user_id)\n'
        '  File "main.py", line 12, in load_user\n    return users[user_id]'
    )
    assert "starlette/routing.py" not in details["text"]  # the console text folds library frames
    no_absolute_paths(details, root)


def test_template_error_through_a_route(site: tuple[Path, jinja2.Environment], client: TestClient) -> None:
    root, _ = site
    details = describe_exception(failure(lambda: client.get("/profile")), (root,))
    assert details["kind"] == "template"
    assert details["message"] == "'user' is undefined"
    assert details["location"] == {"file": "templates/child.html", "line": 4, "column": None, "template": "child.html"}
    app_files = [(f["file"], f["function"]) for f in details["frames"] if f["app"]]
    assert app_files[0] == ("main.py", "profile")
    no_absolute_paths(details, root)


def test_missing_template_from_a_route_points_at_the_route(
    site: tuple[Path, jinja2.Environment], client: TestClient
) -> None:
    root, _ = site
    details = describe_exception(failure(lambda: client.get("/gone")), (root,))
    assert details["kind"] == "template"
    assert details["message"] in not_found("gone.html")
    assert details["location"] == {"file": "main.py", "line": 27, "column": None, "template": None}
    no_absolute_paths(details, root)


def test_paths_in_messages_are_shortened(site: tuple[Path, jinja2.Environment], client: TestClient) -> None:
    root, _ = site
    details = describe_exception(failure(lambda: client.get("/file")), (root,))
    assert details["title"] == "FileNotFoundError"
    assert details["message"] == "[Errno 2] No such file or directory: 'data/missing.json'"
    no_absolute_paths(details, root)


def test_compile_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "app" / "views.py"
    path.parent.mkdir()
    path.write_text("import os\n\ndef view(:\n    return 1\n")
    exc = failure(lambda: compile(path.read_text(), str(path), "exec"))
    assert isinstance(exc, SyntaxError)
    details = describe_exception(exc, (tmp_path,))
    assert details["kind"] == "syntax"
    assert (details["title"], details["message"]) == ("SyntaxError", "invalid syntax")
    assert details["location"] == {"file": "app/views.py", "line": 3, "column": 10, "template": None}
    assert details["source"] == [
        {"line": 1, "text": "import os", "current": False},
        {"line": 2, "text": "", "current": False},
        {"line": 3, "text": "def view(:", "current": True},
        {"line": 4, "text": "    return 1", "current": False},
    ]
    assert details["text"].startswith("SyntaxError: invalid syntax\n  at app/views.py:3:10\n")
    no_absolute_paths(details, tmp_path)


def test_compile_indentation_error_without_a_file(tmp_path: Path) -> None:
    exc = failure(lambda: compile("if ok:\n    a = 1\n  b = 2\n", "<edited>", "exec"))
    details = describe_exception(exc, (tmp_path,))
    assert details["kind"] == "syntax"
    assert details["title"] == "IndentationError"
    assert details["message"] == "unindent does not match any outer indentation level"
    assert details["location"] == {"file": "<edited>", "line": 3, "column": 8, "template": None}
    assert details["source"] == [{"line": 3, "text": "  b = 2", "current": True}]  # all that the error carries
    no_absolute_paths(details, tmp_path)


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_an_exception_whose_str_raises(tmp_path: Path) -> None:
    details = describe_exception(Unprintable(), (tmp_path,))
    assert details["title"] == f"{__name__}.Unprintable"
    assert details["message"] == "<unprintable Unprintable object>"
    assert (details["location"], details["source"], details["frames"]) == (None, None, [])
    assert details["text"] == f"{__name__}.Unprintable: <unprintable Unprintable object>"


def test_hostile_and_huge_messages_are_bounded_and_round_trip(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)"></script><script>alert(2)</script> & \u2028\u2029 <!-- '

    def fail() -> None:
        raise ValueError(hostile + "x" * 100_000)

    details = describe_exception(failure(fail), (tmp_path,))
    assert details["message"].startswith(hostile)
    assert len(details["message"]) == _errors.MAX_MESSAGE and details["message"].endswith("…")
    page = error_page(details, TAG, 500)
    assert page.count(b"</script") == 2  # the JSON's own end and the tag's: nothing inside can close it
    assert page.endswith(TAG + b"\n</body>\n</html>\n")
    assert b"\xe2\x80\xa8" not in page.split(b'id="fast-hot-reload-error">')[1].split(b"</script>")[0]
    parsed = Page.parse(page)
    assert json.loads(parsed.data) == details
    assert parsed.pre == details["text"]
    assert parsed.title == ("ValueError: " + details["message"])[:119] + "…"
    assert parsed.scripts == [{"type": "application/json", "id": "fast-hot-reload-error"}, TAG_ATTRS]
    assert parsed.h1 == "500 Internal Server Error"


def test_source_lines_are_clipped(tmp_path: Path) -> None:
    path = tmp_path / "long.py"
    path.write_text("x = 1\ny = '" + "a" * 5000 + "' +\n")
    details = describe_exception(failure(lambda: compile(path.read_text(), str(path), "exec")), (tmp_path,))
    assert [len(row["text"]) for row in details["source"]] == [5, 240]


def test_frames_are_bounded_keeping_the_innermost(tmp_path: Path) -> None:
    def dive(depth: int) -> None:
        if depth == 0:
            raise LookupError("bottom")
        dive(depth - 1)

    details = describe_exception(failure(lambda: dive(200)), (tmp_path,))
    assert len(details["frames"]) == _errors.MAX_FRAMES == 50
    assert details["frames"][-1]["code"] == 'raise LookupError("bottom")'
    assert "older frames left out" in details["text"]


def test_a_frame_whose_file_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "gone.py"
    path.write_text("def boom():\n    raise OSError('disk')\n")
    namespace: dict[str, Any] = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    exc = failure(namespace["boom"])
    path.unlink()
    details = describe_exception(exc, (tmp_path,))
    assert details["frames"][-1] == {"file": "gone.py", "line": 2, "function": "boom", "code": "", "app": True}
    assert details["location"] == {"file": "gone.py", "line": 2, "column": None, "template": None}
    assert details["source"] is None


def test_chained_exceptions_are_named_briefly(tmp_path: Path) -> None:
    def load() -> None:
        try:
            {}["user"]
        except KeyError as exc:
            raise LookupError("no user in the session") from exc

    details = describe_exception(failure(load), (tmp_path,))
    assert details["chain"] == [{"relation": "cause", "title": "KeyError", "message": "'user'"}]
    assert details["text"].endswith("\n\ncaused by: KeyError: 'user'")

    def handle() -> None:
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            raise RuntimeError("while dividing") from None

    assert describe_exception(failure(handle), (tmp_path,))["chain"] == []
    looped = ValueError("a")
    looped.__context__ = TypeError("b")
    looped.__context__.__context__ = looped
    assert [link["title"] for link in describe_exception(looped, (tmp_path,))["chain"]] == ["TypeError"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is new in 3.11")
def test_a_group_of_one_is_described_by_its_member(tmp_path: Path) -> None:
    group = ExceptionGroup("unhandled errors in a TaskGroup", [KeyError("user")])  # noqa: F821
    assert describe_exception(group, (tmp_path,))["title"] == "KeyError"


def test_it_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("inside")

    monkeypatch.setattr(_errors, "_describe", broken)
    details = describe_exception(KeyError("user"), (tmp_path,))
    assert details == {
        "kind": "exception",
        "title": "KeyError",
        "message": "(could not describe this error: RuntimeError)",
        "location": None,
        "source": None,
        "frames": [],
        "chain": [],
        "text": "KeyError: (could not describe this error: RuntimeError)",
    }


def test_library_and_virtualenv_frames_are_not_the_apps(tmp_path: Path) -> None:
    paths = _errors.ShortPaths((tmp_path,))
    assert paths.short(str(tmp_path / "main.py")) == ("main.py", True)
    assert paths.short(str(tmp_path / ".venv/lib/python3.12/site-packages/starlette/routing.py")) == (
        "site-packages/starlette/routing.py",
        False,
    )
    assert paths.short(str(tmp_path / "venv/bin/uvicorn")) == ("venv/bin/uvicorn", False)
    assert paths.short("/usr/lib/python3/dist-packages/jinja2/runtime.py") == ("dist-packages/jinja2/runtime.py", False)
    assert paths.short(json.__file__) == ("<python>/json/__init__.py", False)
    assert paths.short("/opt/elsewhere/tool.py") == ("tool.py", False)
    assert paths.short("<frozen runpy>") == ("<frozen runpy>", False)
    assert paths.scrub(f"see {tmp_path}/a.txt and {tmp_path} and {tmp_path}x") == f"see a.txt and . and {tmp_path}x"


def test_error_page_shape(site: tuple[Path, jinja2.Environment]) -> None:
    root, env = site
    details = describe_exception(failure(lambda: env.get_template("hostile.html").render(boom=lambda: 1 / 0)), (root,))
    assert details["source"][1]["text"] == '<img src=x onerror="window.pwned = 1">{{ boom() }}'
    page = error_page(details, TAG, status=503)
    assert page.startswith(b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    assert page.count(TAG) == 1 and page.endswith(TAG + b"\n</body>\n</html>\n")
    assert b"<img" not in page  # the source line is escaped in the text and in the JSON
    parsed = Page.parse(page)
    assert parsed.title == "ZeroDivisionError: division by zero"
    assert parsed.h1 == "503 Service Unavailable"
    assert json.loads(parsed.data) == details
    assert parsed.pre == details["text"] and '<img src=x onerror="window.pwned = 1">' in parsed.pre
    assert Page.parse(error_page({"title": "The server has not come back"}, TAG, 599)).h1 == "599 Error"


TAG_ATTRS = {"src": "/__hot_reload/client.js", "defer": None}


class Page(HTMLParser):
    """What a browser's parser makes of an error page: its title, heading, <pre> text, JSON and scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.texts: dict[str, str] = {}
        self.open: str | None = None
        self.data = ""

    @classmethod
    def parse(cls, page: bytes) -> Page:
        parser = cls()
        parser.feed(page.decode("utf-8"))
        parser.close()
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        self.open = tag

    def handle_endtag(self, tag: str) -> None:
        self.open = None

    def handle_data(self, data: str) -> None:
        if self.open == "script" and self.scripts[-1].get("id") == "fast-hot-reload-error":
            self.data += data
        elif self.open:
            self.texts[self.open] = self.texts.get(self.open, "") + data

    @property
    def title(self) -> str:
        return self.texts["title"]

    @property
    def h1(self) -> str:
        return self.texts["h1"]

    @property
    def pre(self) -> str:
        return self.texts["pre"]
