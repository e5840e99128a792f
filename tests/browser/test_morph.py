"""The morph room in real Chromium: BASE->NEXT applied to a LIVE page that scripts and the user changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .._support.browser import CLIENT

pytestmark = pytest.mark.browser

ROOM = (CLIENT / "morph.js").read_text()

# In the page: `act` plays the scripts and the user on LIVE, then BASE->NEXT (or LIVE->NEXT) is merged in
MERGE = """
([base, next, act, root]) => {
  const parse = (html) => new DOMParser().parseFromString(html, "text/html");
  const pick = (doc) => (root === "html" ? doc.documentElement : doc.body);
  const live = pick(document);
  new Function("live", act)(live);
  const skip = (node) => node.nodeType === 1 && node.hasAttribute("data-fhr-client");
  const baseDoc = base === null ? null : parse(base);
  window.nextRoot = pick(parse(next));
  const result = Morph.merge(live, baseDoc && pick(baseDoc), nextRoot, { skip });
  return { ...result, touched: result.touched.map((el) => el.id || el.localName) };
}
"""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    yield page
    page.close()


def merge(page: Any, base: str, next_: str, act: str = "", *, two_way: bool = False, root: str = "body") -> Any:
    """Load BASE as the live page, let `act` change it, then merge BASE->NEXT into it (LIVE->NEXT if two_way)."""
    page.set_content(base)
    tag = page.add_script_tag(content=ROOM + "\nwindow.Morph = Morph;")
    tag.evaluate("(script) => script.setAttribute('data-fhr-client', '')")  # the caller's own tag: skipped
    return page.evaluate(MERGE, [None if two_way else base, next_, act, root])


def js(page: Any, expression: str) -> Any:
    return page.evaluate(f"() => ({expression})")


def props(page: Any, selector: str, *names: str) -> list[Any]:
    """The named properties of the element `selector` finds, in the live page."""
    values: list[Any] = page.eval_on_selector(selector, "(el, names) => names.map((name) => el[name])", list(names))
    return values


def test_text_change_keeps_the_node_and_script_written_text(page: Any) -> None:
    base = "<h1 id=t>Hello</h1><p id=count x-text=n>0</p><p id=other>same</p>"
    act = "live.querySelector('#t').mark = 1; live.querySelector('#count').textContent = '5'"
    result = merge(page, base, base.replace("Hello", "Hello, world"), act)
    assert result == {"changed": 1, "unplaced": 0, "touched": ["t"]}
    assert props(page, "#t", "mark", "textContent") == [1, "Hello, world"]
    assert props(page, "#count", "textContent") == ["5"]


def test_attributes_three_way(page: Any) -> None:
    base = '<a id=l href="/a" title="old" data-gone="1">link</a>'
    next_ = '<a id=l href="/b" title="old" data-new="2">link</a>'
    act = "const a = live.querySelector('#l'); a.setAttribute('aria-expanded', 'true'); a.title = 'by script'"
    result = merge(page, base, next_, act)
    attrs = js(page, "Object.fromEntries([...document.querySelector('#l').attributes].map(a => [a.name, a.value]))")
    assert attrs == {"id": "l", "href": "/b", "title": "by script", "data-new": "2", "aria-expanded": "true"}
    assert result["touched"] == ["l"] and result["unplaced"] == 0


def test_touched_names_only_the_top_most_changed_elements(page: Any) -> None:
    base = "<section id=s class=a><p id=p title=x>x</p></section><div id=d><p id=e>1</p><p id=f>2</p></div>"
    next_ = base.replace("class=a", "class=b").replace("title=x>x", "title=y>y").replace(">1<", ">one<")
    result = merge(page, base, next_.replace(">2<", ">two<"))
    assert sorted(result["touched"]) == ["e", "f", "s"] and result["changed"] == 5


def test_class_tokens_merge_three_way(page: Any) -> None:
    base = '<button id=b class="btn primary wide">go</button>'
    next_ = '<button id=b class="btn secondary wide">go</button>'
    merge(page, base, next_, "live.querySelector('#b').classList.add('is-open')")
    assert sorted(js(page, "[...document.querySelector('#b').classList]")) == ["btn", "is-open", "secondary", "wide"]


def items(*names: str) -> str:
    return "<ul>" + "".join(f"\n  <li><input name={n} value=''> item {n}</li>" for n in names) + "\n</ul>"


def test_insert_and_remove_in_the_middle_of_a_list_move_nothing_else(page: Any) -> None:
    act = """
      live.querySelectorAll('input').forEach((input) => { input.value = 'typed ' + input.name; });
      window.removed = [];
      const watch = (records) => records.forEach((r) => r.removedNodes.forEach((n) => {
        if (n.nodeType === 1) removed.push(n.querySelector('input').name);
      }));
      new MutationObserver(watch).observe(live, { childList: true, subtree: true });
    """
    result = merge(page, items("1", "2", "3", "4", "5"), items("1", "2", "new", "3", "5"), act)
    assert result["unplaced"] == 0
    values = js(page, "[...document.querySelectorAll('input')].map(i => i.name + '=' + i.value)")
    assert values == ["1=typed 1", "2=typed 2", "new=", "3=typed 3", "5=typed 5"]
    assert js(page, "removed") == ["4"]  # no kept item was taken out and put back


def test_reorder_by_id_moves_the_nodes_with_their_state(page: Any) -> None:
    row = "<li id={0}><input id=in-{0}></li>"
    base = "<ol>" + "".join(row.format(k) for k in "abc") + "</ol>"
    next_ = "<ol>" + "".join(row.format(k) for k in "cab") + "</ol>"
    act = """
      for (const input of live.querySelectorAll('input')) { input.value = 'value of ' + input.id; input.mark = 1; }
      const c = live.querySelector('#in-c'); c.focus(); c.setSelectionRange(2, 5);
    """
    result = merge(page, base, next_, act)
    assert result["changed"] == 1  # one move
    state = "[...document.querySelectorAll('input')].map(i => [i.id, i.value, i.mark])"
    assert js(page, state) == [[f"in-{k}", f"value of in-{k}", 1] for k in "cab"]
    assert props(page, ":focus", "id", "selectionStart", "selectionEnd") == ["in-c", 2, 5]


def test_script_inserted_nodes_are_left_alone(page: Any) -> None:
    base = """<main><h1 id=title>Shop</h1>
      <ul id=todos><template x-for="t in todos"><li x-text=t></li></template></ul>
      <div id=box hx-get="/part">loading</div></main>
      <footer id=foot>f</footer>"""
    next_ = base.replace("Shop", "Shop!") + "<p id=added>new</p>"
    act = """
      const list = live.querySelector('#todos');
      for (const text of ['milk', 'eggs']) list.appendChild(document.createElement('li')).textContent = text;
      live.querySelector('#box').innerHTML = '<table><tr><td>swapped</td></tr></table>';
      live.appendChild(document.createElement('div')).id = 'toast';
    """
    result = merge(page, base, next_, act)
    assert result["unplaced"] == 0 and sorted(result["touched"]) == ["added", "title"]
    assert js(page, "[...document.querySelectorAll('#todos li')].map(li => li.textContent)") == ["milk", "eggs"]
    assert props(page, "#box td", "textContent") == ["swapped"]
    ours = "[...document.body.children].filter(e => !e.hasAttribute('data-fhr-client'))"
    assert js(page, f"{ours}.slice(-3).map(e => e.id)") == [
        "foot",
        "added",
        "toast",
    ]  # after its sibling, not the toast


def test_a_change_to_a_node_a_script_removed_is_unplaced(page: Any) -> None:
    base = "<ul>\n<li>a</li>\n<li>b</li>\n<li>c</li>\n</ul>"
    result = merge(page, base, base.replace(">b<", ">b changed<"), "live.querySelectorAll('li')[1].remove()")
    assert result["unplaced"] == 1
    assert js(page, "[...document.querySelectorAll('li')].map(li => li.textContent)") == ["a", "c"]


def form(
    cls: str = "a", value: str = "server", checked: str = "", radio: str = "r1", pick: str = "b", text: str = "t"
) -> str:
    def option(v: str) -> str:
        return f"<option value={v} {'selected' if v == pick else ''}>{v.upper()}</option>"

    def radio_input(v: str) -> str:
        return f"<input type=radio name=r id={v} value={v} {'checked' if v == radio else ''} class={cls}>"

    return (
        f'<form><input id=text name=text value="{value}" class={cls}><input id=box type=checkbox {checked} class={cls}>'
        f"{radio_input('r1')}{radio_input('r2')}"
        f"<select id=sel class={cls}>{option('a')}{option('b')}{option('c')}</select>"
        f"<textarea id=area class={cls}>{text}</textarea></form>"
    )


USER = """
  live.querySelector('#text').value = 'typed';
  live.querySelector('#box').checked = true;
  live.querySelector('#r2').checked = true;
  live.querySelector('#sel').value = 'c';
  live.querySelector('#area').value = 'my notes';
"""
FIELDS = """[document.querySelector('#text').value, document.querySelector('#box').checked,
  document.querySelector('#r2').checked, document.querySelector('#sel').value, document.querySelector('#area').value]"""


def test_form_fields_keep_what_the_user_did_when_their_markup_is_unchanged(page: Any) -> None:
    result = merge(page, form(cls="a"), form(cls="b"), USER)
    assert js(page, FIELDS) == ["typed", True, True, "c", "my notes"]
    assert result["changed"] == 6 and result["unplaced"] == 0  # only the class of each field


def test_form_fields_follow_the_server_when_it_changed_their_markup(page: Any) -> None:
    next_ = form(value="from server", checked="checked", radio="r2", pick="a", text="new text")
    user = USER.replace("'#r2').checked", "'#r1').checked").replace("'#box').checked = true", "'#box').checked = false")
    merge(page, form(), next_, user)
    assert js(page, FIELDS) == ["from server", True, True, "a", "new text"]
    assert props(page, "#area", "defaultValue") == ["new text"]
    assert js(page, "document.querySelector('#text').getAttribute('value')") == "from server"


def test_a_changed_option_set_resets_the_choice_to_the_server_one(page: Any) -> None:
    next_ = form().replace("</select>", "<option value=d>D</option></select>")
    merge(page, form(), next_, USER)
    assert js(page, FIELDS) == ["typed", True, True, "b", "my notes"]


def test_focus_and_selection_survive_changes_around_them(page: Any) -> None:
    base = "<label id=l>Name</label><input id=q value='hello world' placeholder=x><p>text</p>"
    next_ = base.replace("Name", "Your name").replace("placeholder=x", "placeholder=y")
    merge(page, base, next_, "const q = live.querySelector('#q'); q.focus(); q.setSelectionRange(3, 7, 'backward')")
    assert props(page, ":focus", "id", "selectionStart", "selectionEnd", "selectionDirection") == [
        "q",
        3,
        7,
        "backward",
    ]
    assert props(page, "#q", "placeholder") == ["y"]


def test_focus_moves_to_the_replacement_of_a_replaced_field(page: Any) -> None:
    base = "<div id=wrap><input id=q value='hello world'></div><p>x</p>"
    next_ = base.replace("<div id=wrap>", "<section id=wrap>").replace("</div>", "</section>")
    result = merge(page, base, next_, "const q = live.querySelector('#q'); q.focus(); q.setSelectionRange(2, 4)")
    assert "wrap" in result["touched"]
    assert props(page, "section > :focus", "id", "selectionStart", "selectionEnd") == ["q", 2, 4]


@pytest.mark.parametrize("move", [False, True])
def test_document_text_selection_is_kept(page: Any, move: bool) -> None:
    base = "<h1>t</h1><p id=p>some selected text</p><p id=q>q</p><p id=r>r</p>"
    next_ = base.replace(">t<", ">title<")
    if move:  # p goes last: the others stay, p moves
        next_ = next_.replace("<p id=p>some selected text</p>", "") + "<p id=p>some selected text</p>"
    act = "const t = live.querySelector('#p').firstChild; getSelection().setBaseAndExtent(t, 5, t, 13)"
    merge(page, base, next_, act)
    assert js(page, "getSelection().toString()") == "selected"


def test_open_details_dialog_and_scroll_stay(page: Any) -> None:
    lines = "".join(f"<p>line {k}</p>" for k in range(40))
    base = "<details id=d><summary>More</summary>body</details><dialog id=g>hi</dialog>"
    base += f"<div id=s style='height:60px;overflow:auto'>{lines}</div>"
    next_ = base.replace("More", "More info").replace("line 5<", "line five<").replace(">hi<", ">hello<")
    act = """
      live.querySelector('#d').open = true;
      live.querySelector('#g').show();
      live.querySelector('#s').scrollTop = 200;
    """
    merge(page, base, next_, act)
    assert [props(page, "#d", "open"), props(page, "#g", "open"), props(page, "#s", "scrollTop")] == [
        [True],
        [True],
        [200],
    ]
    assert props(page, "#d summary", "textContent") == ["More info"]
    assert props(page, "#g", "textContent") == ["hello"]


PERMANENT = "<h1>t</h1><div id=w data-fhr-permanent><span>server</span></div><p>end</p>"
WIDGET = "const w = live.querySelector('#w'); w.mark = 1; w.firstChild.textContent = 'widget'; w.className = 'ready'"


@pytest.mark.parametrize("change", ["changed", "removed"])
def test_a_permanent_element_stays_as_live_has_it(page: Any, change: str) -> None:
    next_ = PERMANENT.replace("server", "changed") if change == "changed" else PERMANENT.split("<div")[0] + "<p>end</p>"
    result = merge(page, PERMANENT, next_.replace(">t<", ">title<"), WIDGET)
    assert props(page, "#w", "mark", "outerHTML") == [
        1,
        '<div id="w" data-fhr-permanent="" class="ready"><span>widget</span></div>',
    ]
    assert result["unplaced"] == 0 and props(page, "h1", "textContent") == ["title"]


def test_a_permanent_element_moves_into_its_replaced_parent(page: Any) -> None:
    base = "<div id=outer><div id=w data-fhr-permanent><b>server</b></div></div>"
    next_ = base.replace("<div id=outer>", "<section id=outer>").replace("</div></div>", "</div></section>")
    merge(page, base, next_, WIDGET)
    assert props(page, "section > #w", "mark", "textContent") == [1, "widget"]
    assert js(page, "document.querySelectorAll('#outer').length") == 1


def test_a_parent_next_removed_stays_while_it_holds_a_permanent_element(page: Any) -> None:
    base = "<h1>t</h1><div id=outer><div id=w data-fhr-permanent><b>server</b></div></div>"
    merge(page, base, "<h1>title</h1>", WIDGET)
    assert props(page, "#outer > #w", "mark", "textContent") == [1, "widget"]
    assert props(page, "h1", "textContent") == ["title"]


def test_two_way_fallback_makes_live_equal_next(page: Any) -> None:
    base = "<h1 class='a b'>t</h1><ul><li>1</li><li>2</li></ul><p>end</p>"
    next_ = "<h1 class='b c'>title</h1><ul><li>1</li><li>new</li><li>2</li></ul><section>x</section>"
    act = """
      live.querySelector('h1').classList.add('script');
      live.appendChild(document.createElement('aside'));
      live.appendChild(document.createElement('div')).setAttribute('data-fhr-client', 'badge');
    """
    result = merge(page, base, next_, act, two_way=True)
    assert result["unplaced"] == 0
    assert js(page, "document.querySelector('[data-fhr-client=badge]').remove() ?? nextRoot.isEqualNode(document.body)")


def test_nothing_to_do_when_base_equals_next(page: Any) -> None:
    base = "<h1 id=t>t</h1><input id=i><ul><li>a</li></ul>"
    act = "live.querySelector('#t').textContent = 'script'; live.querySelector('#i').value = 'typed'; live.append('x')"
    assert merge(page, base, base, act) == {"changed": 0, "unplaced": 0, "touched": []}


def test_whole_documents_skipped_nodes_and_no_script_runs(page: Any) -> None:
    base = "<html><head><title>a</title></head><body><h1>x</h1></body></html>"
    next_ = base.replace("<title>a", "<title>b").replace("<h1>x</h1>", "<h1>y</h1><script>window.ran = 1</script>")
    # the caller's own tag is in NEXT too, with other data: skipped, so not an unplaced change
    next_ = next_.replace("</head>", "<script data-fhr-client data-version=2></script></head>")
    result = merge(page, base, next_, root="html")
    assert result["unplaced"] == 0
    assert js(page, "[document.title, document.querySelector('h1').textContent, window.ran]") == ["b", "y", None]
    assert js(page, "document.querySelectorAll('[data-fhr-client]').length") == 1


def test_template_contents_are_merged(page: Any) -> None:
    base = "<div id=list><template id=tpl><li class=row>row</li></template></div>"
    result = merge(page, base, base.replace("class=row", "class=item"))
    assert result["changed"] == 1
    assert props(page, "#tpl", "innerHTML") == ['<li class="item">row</li>']


# Random small trees and random template edits: the merge lands exactly on NEXT, in every mode
PROPERTY = """
(runs) => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const choice = (list) => list[Math.floor(random() * list.length)];
  const parse = (html) => {
    const doc = new DOMParser().parseFromString("<div id=root>" + html + "</div>", "text/html");
    return doc.getElementById("root");
  };
  const TAGS = ["div", "span", "section", "ul", "li", "b", "em", "input"];
  const CLASSES = ["a", "b", "c", "d"];
  let ids = 0;
  function tree(doc, depth) {
    if (depth > 3 || random() < 0.3) {
      return random() < 0.1 ? doc.createComment(choice(["c", "d"])) : doc.createTextNode(choice(["x", "y", " ", "w"]));
    }
    const el = doc.createElement(choice(TAGS));
    if (random() < 0.3) el.id = "i" + ids++;
    if (random() < 0.4) el.className = CLASSES.filter(() => random() < 0.5).join(" ");
    if (random() < 0.3) el.setAttribute("title", choice(["t", "u"]));
    if (el.localName === "input") return el;
    for (let k = Math.floor(random() * 4); k > 0; k--) el.appendChild(tree(doc, depth + 1));
    return el;
  }
  const nodes = (root) => [root, ...root.querySelectorAll("*")].flatMap((el) => [el, ...el.childNodes]);
  const container = (root, node) => (node.nodeType === 1 && node.localName !== "input" ? node : root);
  const edits = [
    (root, node) => { if (node.nodeType !== 1) node.data = choice(["x", "y", "z", "new"]); },
    (root, node) => { if (node.nodeType === 1) node.setAttribute("title", choice(["t", "v"])); },
    (root, node) => { if (node.nodeType === 1) node.removeAttribute("title"); },
    (root, node) => { if (node.nodeType === 1) node.className = CLASSES.filter(() => random() < 0.5).join(" "); },
    (root, node) => {
      const parent = container(root, node);
      parent.insertBefore(tree(root.ownerDocument, 2), choice([...parent.childNodes, null]));
    },
    (root, node) => { if (node !== root) node.remove(); },
    (root, node) => {
      const parent = node.parentNode;
      if (node !== root && parent) parent.insertBefore(node, choice([...parent.childNodes, null]));
    },
    (root, node) => {  // the tag changes, children and id stay
      if (node === root || node.nodeType !== 1) return;
      const other = root.ownerDocument.createElement(choice(TAGS.filter((t) => t !== node.localName && t !== "input")));
      other.append(...node.childNodes);
      if (node.id) other.id = node.id;
      node.replaceWith(other);
    },
    (root, node) => {
      if (node === root) return;
      const wrap = root.ownerDocument.createElement("div");
      node.replaceWith(wrap);
      wrap.appendChild(node);
    },
  ];
  const failures = [];
  const host = document.body.appendChild(document.createElement("div"));
  for (let run = 0; run < runs; run++) {
    const doc = document.implementation.createHTMLDocument("");
    const start = doc.createElement("div");
    for (let k = 1 + Math.floor(random() * 5); k > 0; k--) start.appendChild(tree(doc, 0));
    const base = parse(start.innerHTML);
    const edited = base.cloneNode(true);
    for (let k = 1 + Math.floor(random() * 4); k > 0; k--) choice(edits)(edited, choice(nodes(edited)));
    const next = parse(edited.innerHTML);
    for (const mode of ["two-way", "three-way", "three-way with a toast"]) {
      host.replaceChildren(document.importNode(base, true));
      const live = host.firstChild;
      const toast = document.createElement("aside");
      if (mode.endsWith("toast")) live.appendChild(toast);
      const result = Morph.merge(live, mode === "two-way" ? null : base, next);
      const kept = toast.parentNode === (mode.endsWith("toast") ? live : null);
      toast.remove();
      const nothing = base.isEqualNode(next);
      if (live.isEqualNode(next) && kept && result.unplaced === 0 && (result.changed === 0) === nothing) continue;
      const { changed, unplaced } = result;
      failures.push({ run, mode, base: base.innerHTML, next: next.innerHTML, live: live.innerHTML, changed, unplaced });
    }
  }
  return failures;
}
"""


def test_random_trees_and_edits_land_exactly_on_next(page: Any) -> None:
    page.set_content("<body></body>")
    page.add_script_tag(content=ROOM + "\nwindow.Morph = Morph;")
    failures = page.evaluate(PROPERTY, 400)
    assert failures == [], failures[:3]
