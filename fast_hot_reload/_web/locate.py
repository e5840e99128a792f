"""Which template line rendered an element: the tab describes it, we look among the templates its page rendered.

Pages are never annotated (a response is not altered beyond our one tag), so the element is matched by what it
looks like: its tag, id, classes, other attributes and own text, against each start tag of each template the page
used (includes, and the blocks of the templates it extends, are templates it used). `{{ ... }}` in a template
matches anything. An element no template has (markup a script built) is not found; its nearest ancestor that is
found answers for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

MAX_TEMPLATE = 1024 * 1024  # bytes of one template read
MAX_CHAIN = 8  # the element and its ancestors, nearest first
MAX_ATTRIBUTES = 32
# a start tag, Jinja's {{ }}, {% %} and {# #} inside it included (they may hold a `>`)
START_TAG = re.compile(
    r"""<([A-Za-z][\w:.-]*)((?:\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|"[^"]*"|'[^']*'|[^>"'{]|\{)*)>""", re.S
)
STATEMENT = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)  # {% if %}class="x"{% endif %}: the attribute still counts
EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
ATTRIBUTE = re.compile(r"""([^\s"'=<>/`]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")
ANY = "\x00"  # where an expression was: matches anything
STRONG = 3  # a score from which a match stands even among several of the same tag


class Found(NamedTuple):
    file: Path
    line: int
    column: int
    depth: int  # 0: the element itself; 1: its parent...


class Candidate(NamedTuple):
    tag: str
    file: Path
    line: int
    column: int
    attributes: dict[str, str]
    text: str


def locate(chain: Sequence[Any], templates: Iterable[Path]) -> Found | None:
    """The template line of the first element of `chain` (the element, then its ancestors) that is found."""
    by_tag: dict[str, list[Candidate]] = {}
    for file in templates:
        for candidate in _start_tags(file):
            by_tag.setdefault(candidate.tag, []).append(candidate)
    for depth, element in enumerate(chain[:MAX_CHAIN]):
        if not isinstance(element, dict) or not isinstance(element.get("tag"), str):
            return None
        candidates = by_tag.get(element["tag"].lower(), [])
        scored = sorted(((_score(element, c), i) for i, c in enumerate(candidates)), reverse=True)
        if not scored:
            continue
        best, index = scored[0]
        unique = len(scored) == 1 or scored[1][0] < best
        if best >= STRONG or (best >= 0 and len(scored) == 1) or (best > 1 and unique):
            found = candidates[index]
            return Found(found.file, found.line, found.column, depth)
    return None


def _start_tags(file: Path) -> list[Candidate]:
    try:
        with file.open("rb") as handle:
            source = handle.read(MAX_TEMPLATE).decode("utf-8", "replace")
    except OSError:
        return []
    found = []
    for match in START_TAG.finditer(source):
        attributes = _attributes(match.group(2))
        text = source[match.end() : match.end() + 400].split("<", 1)[0]
        line = source.count("\n", 0, match.start()) + 1
        column = match.start() - source.rfind("\n", 0, match.start())
        text = _normal(STATEMENT.sub(" ", text))
        found.append(Candidate(match.group(1).lower(), file, line, column, attributes, text))
    return found


def _attributes(raw: str) -> dict[str, str]:
    raw = EXPRESSION.sub(ANY, STATEMENT.sub(" ", raw))
    attributes: dict[str, str] = {}
    for name, value in ATTRIBUTE.findall(raw):
        if name != ANY and len(attributes) < MAX_ATTRIBUTES:
            attributes.setdefault(name.lower(), value[1:-1] if value[:1] in "\"'" and value else value)
    return attributes


def _normal(text: str) -> str:
    return " ".join(EXPRESSION.sub(ANY, text).split())


def _matches(pattern: str, value: str) -> int:
    """2 for a literal match, 1 for one through expressions, 0 for none."""
    if ANY not in pattern:
        return 2 if pattern == value else 0
    regex = ".*".join(re.escape(part) for part in pattern.split(ANY))
    return 1 if re.fullmatch(regex, value, re.S) else 0


def _score(element: dict[str, Any], candidate: Candidate) -> int:
    """How well a start tag fits the element: matches add, contradictions take away."""
    score = 0
    attributes = element.get("attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    for name, pattern in candidate.attributes.items():
        value = attributes.get(name)
        if not isinstance(value, str):
            score -= 1  # a script may have taken it away, but a tag that has it fits less well
        elif name == "class":
            score += _classes(pattern, value)
        else:
            fit = _matches(pattern, value)
            weight = 8 if name == "id" else 3
            score += weight if fit == 2 else 1 if fit else -weight
    text = element.get("text")
    if isinstance(text, str) and candidate.text:
        fit = _matches(candidate.text, " ".join(text.split())[:400])
        literal = candidate.text.replace(ANY, "").strip()
        score += (4 if literal else 1) if fit else -2 if literal else 0
    return score


def _classes(pattern: str, value: str) -> int:
    present = set(value.split())
    score = 0
    for name in pattern.split():
        if ANY in name:
            continue
        score += 2 if name in present else -1  # scripts add and take classes: a missing one counts little
    return score
