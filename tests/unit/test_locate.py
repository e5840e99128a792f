"""Alt+click: which template line an element came from, found by its tag, attributes and text among the templates
its page rendered (blocks, includes and the templates extended are among them); a script's markup is not found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fast_hot_reload._web.locate import locate

BASE = """<!doctype html>
<html>
<head><title>{% block title %}x{% endblock %}</title></head>
<body class="page {{ theme }}">
  <header id="top"><a href="{{ url_for('index') }}" class="brand">Shop</a></header>
  {% block content %}{% endblock %}
  {% include "footer.html" %}
</body>
</html>"""
CHILD = """{% extends "base.html" %}
{% block content %}
<main>
  <h1 id="title">template-v1</h1>
  <p id="message">{{ message }}</p>
  <ul>{% for i in items %}<li class="item {% if i.on %}on{% endif %}">{{ i }}</li>{% endfor %}</ul>
  <button type="button" {% if count > 1 %}disabled{% endif %} data-x="1">Save</button>
  <p class="note">{# a comment > with a bracket #}Second <b>bold</b></p>
</main>
{% endblock %}"""
FOOTER = "<footer>\n  <p>made by us</p>\n</footer>"


@pytest.fixture
def templates(tmp_path: Path) -> list[Path]:
    files = {"base.html": BASE, "index.html": CHILD, "footer.html": FOOTER}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return [tmp_path / name for name in files]


def el(tag: str, text: str = "", **attributes: str) -> dict[str, Any]:
    return {"tag": tag, "text": text, "attributes": {k.replace("_", "-"): v for k, v in attributes.items()}}


@pytest.mark.parametrize(
    ("chain", "where"),
    [
        ([el("h1", "template-v1", id="title")], ("index.html", 4, 3, 0)),
        ([el("p", "python-v1", id="message")], ("index.html", 5, 3, 0)),  # {{ }} matches what it rendered
        ([el("li", "3", **{"class": "item on"})], ("index.html", 6, 27, 0)),
        ([el("button", "Save", type="button", data_x="1", disabled="")], ("index.html", 7, 3, 0)),
        ([el("p", "Second", **{"class": "note"})], ("index.html", 8, 3, 0)),
        ([el("p", "made by us")], ("footer.html", 2, 3, 0)),  # an include
        ([el("a", "Shop", href="/", **{"class": "brand"})], ("base.html", 5, 20, 0)),  # the extended template
        ([el("body", "", **{"class": "page dark"})], ("base.html", 4, 1, 0)),
        ([el("span", "built by a script"), el("main")], ("index.html", 3, 1, 1)),  # its nearest ancestor
    ],
)
def test_an_element_is_found_at_its_line(templates: list[Path], chain: list[Any], where: tuple[Any, ...]) -> None:
    found = locate(chain, templates)
    assert found is not None and (found.file.name, found.line, found.column, found.depth) == where


def test_what_no_template_has_is_not_found(templates: list[Path]) -> None:
    assert locate([el("canvas", "", id="chart")], templates) is None
    assert locate([el("div", "x"), el("section")], templates) is None
    assert locate([el("h1", "other", id="elsewhere")], templates) is None  # its id says it is not that <h1>


def test_junk_finds_nothing(templates: list[Path], tmp_path: Path) -> None:
    assert locate([], templates) is None
    assert locate(["h1", 3, None], templates) is None
    assert locate([{"tag": "h1", "attributes": "x", "text": 5}], templates) is None  # no id: not the <h1 id=title>
    assert locate([el("h1")], [tmp_path / "missing.html"]) is None
