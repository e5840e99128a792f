// ---- editor: file:line links that open the developer's editor, and alt+click to an element's template ----
const Editor = (() => {
  let base = null; // the endpoints' folder, from the script's own URL
  let pageId = () => null;

  const say = (level, text) => console[level](CONFIG.prefix + " " + text);

  function start(scriptUrl, idOf) {
    base = scriptUrl;
    pageId = idOf;
    addEventListener("click", onAltClick, true);
  }

  function post(name, body) {
    if (!base || !pageId()) return Promise.resolve(null);
    return fetch(new URL(name, base), { method: "POST", cache: "no-store", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ page: pageId(), ...body }) })
      .catch(() => null);
  }

  // target: {file, line, column} (a file as the overlay names it) or {url, line, column} (a script's URL path)
  function open(target) {
    const where = (target.file || target.url) + ":" + target.line;
    return post("open", target).then(async (response) => {
      if (response && response.ok) { say("info", "Opened in your editor: " + where); return true; }
      const why = response ? (await response.text().catch(() => "")) || response.status + " " + response.statusText
        : "no answer (the server is restarting, or this page's tag was written by hand and has no page id)";
      say("warn", "Could not open " + where + ": " + why);
      return false;
    });
  }

  // a link for the overlay: its text as text only, the click asks the server
  function link(text, target, className) {
    const a = document.createElement("a");
    a.className = (className ? className + " " : "") + "open";
    a.textContent = text;
    a.href = "#";
    a.title = "Open in your editor";
    a.addEventListener("click", (e) => { e.preventDefault(); e.stopPropagation(); open(target); });
    return a;
  }

  // "/static/app.js:3:9" or "http://other/x.js:3:9": where a script of this origin's is, as a link target
  function scriptTarget(at) {
    const match = /^(.*):(\d+):(\d+)$/.exec(String(at || ""));
    if (!match || !match[1].startsWith("/") || match[1] === location.pathname) return null;
    return { url: match[1], line: Number(match[2]), column: Number(match[3]) };
  }

  function describe(el) {
    const attributes = {};
    for (const attr of [...el.attributes].slice(0, 32)) attributes[attr.name] = attr.value.slice(0, 400);
    let text = ""; // the text before its first child element: what follows its start tag in the template
    for (const child of el.childNodes) {
      if (child.nodeType === 1) break;
      if (child.nodeType === 3) text += child.data;
    }
    return { tag: el.localName, attributes, text: text.trim().slice(0, 400) };
  }

  function chainOf(el) {
    const chain = [];
    for (let at = el; at && at.nodeType === 1 && chain.length < 8; at = at.parentElement) chain.push(describe(at));
    return chain;
  }

  function onAltClick(e) {
    if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    const path = e.composedPath();
    const el = path.find((n) => n.nodeType === 1);
    const ours = (n) => n.nodeType === 1 && /^fast-hot-reload/.test(n.id || n.localName);
    if (!el || path.some(ours)) return; // our overlay, notes and badge are not the page's
    e.preventDefault();
    e.stopImmediatePropagation();
    post("locate", { chain: chainOf(el) }).then(async (response) => {
      if (response && response.ok) {
        const found = await response.json();
        if (found.depth > 0) say("info", "Alt+click: no template has this <" + el.localName + "> (built by a script?); " +
          "opening the nearest element that one has");
        open({ file: found.file, line: found.line, column: found.column });
      } else if (response && response.status === 404) {
        say("info", "Alt+click: no template of this page renders this <" + el.localName + "> (built by a script?)");
      } else if (response) {
        say("warn", "Alt+click: the server answered " + response.status + " " + (await response.text().catch(() => "")));
      }
    });
  }

  return { start, open, link, scriptTarget };
})();
