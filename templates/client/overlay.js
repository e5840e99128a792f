// ---- overlay: errors shown over the page, in a shadow root, as text only ----
const Overlay = (() => {
  const TAG = "fast-hot-reload-overlay";
  const KINDS = { template: "Template error", syntax: "Syntax error", exception: "Server error", http: "Server error",
    gone: "Server unreachable", withheld: "Error (details on the server's machine)" };
  const CSS = `
    :host {
      all: initial !important;
      display: block !important;
      position: fixed !important;
      inset: 0 !important;
      z-index: 2147483647 !important;
      visibility: visible !important;
      margin: 0 !important; padding: 0 !important; border: 0 !important; background: transparent !important;
      width: auto !important; height: auto !important; overflow: visible !important;
    }
    .backdrop {
      --fhr-bg: #ffffff; --fhr-fg: #1f2328; --fhr-dim: #59636e; --fhr-line: #d1d9e0; --fhr-accent: #cf222e;
      --fhr-code: #f6f8fa; --fhr-hit: #ffebe9; --fhr-hit-fg: #82071e; --fhr-shade: rgba(15, 17, 21, 0.55);
      --fhr-edge: transparent;
      --fhr-mono: ui-monospace, "SFMono-Regular", "Cascadia Mono", Menlo, Consolas, "Liberation Mono",
        "DejaVu Sans Mono", monospace;
      --fhr-sans: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif;
      color-scheme: light;
      position: fixed; inset: 0; overflow: auto; overscroll-behavior: contain;
      box-sizing: border-box; padding: 40px 16px;
      background: var(--fhr-shade);
      font: 14px/1.5 var(--fhr-sans); color: var(--fhr-fg); text-align: left; direction: ltr;
    }
    @media (prefers-color-scheme: dark) {
      .backdrop {
        --fhr-bg: #1c1f24; --fhr-fg: #e6edf3; --fhr-dim: #9198a1; --fhr-line: #3d444d; --fhr-accent: #ff7b72;
        --fhr-code: #12151a; --fhr-hit: rgba(248, 81, 73, 0.2); --fhr-hit-fg: #ffdcd7; --fhr-shade: rgba(0, 0, 0, 0.7);
        --fhr-edge: #3d444d;
        color-scheme: dark;
      }
    }
    .panel {
      box-sizing: border-box; max-width: 980px; margin: 0 auto; padding: 18px 24px 14px;
      background: var(--fhr-bg); border: 1px solid var(--fhr-edge); border-top: 6px solid var(--fhr-accent);
      border-radius: 8px;
      box-shadow: 0 20px 50px rgba(0, 0, 0, 0.35); outline: none;
    }
    .head { display: flex; align-items: center; gap: 12px; min-height: 32px; }
    .kind {
      font: 600 12px/1.4 var(--fhr-sans); letter-spacing: 0.05em; text-transform: uppercase; color: var(--fhr-accent);
    }
    .close {
      margin-left: auto; width: 32px; height: 32px; padding: 0; border: 0; border-radius: 6px;
      background: transparent; color: var(--fhr-dim); font: 22px/1 var(--fhr-sans); cursor: pointer;
    }
    .close:hover { background: var(--fhr-code); color: var(--fhr-fg); }
    .close:focus-visible { outline: 2px solid var(--fhr-accent); outline-offset: 1px; }
    h1 { margin: 2px 0 8px; font: 600 20px/1.3 var(--fhr-sans); overflow-wrap: anywhere; }
    h1 .module { font-weight: 400; color: var(--fhr-dim); }
    .message { margin: 0 0 14px; font: 15px/1.5 var(--fhr-mono); white-space: pre-wrap; overflow-wrap: anywhere; }
    .message.plain { font: 15px/1.5 var(--fhr-sans); }
    .where { margin: 0 0 6px; font: 13px/1.4 var(--fhr-mono); color: var(--fhr-dim); overflow-wrap: anywhere; }
    .source {
      margin: 0 0 6px; overflow-x: auto;
      background: var(--fhr-code); border: 1px solid var(--fhr-line); border-radius: 6px;
    }
    table { border-collapse: collapse; min-width: 100%; font: 13px/1.6 var(--fhr-mono); tab-size: 4; }
    td { padding: 0 12px 0 8px; white-space: pre; vertical-align: top; }
    td.num {
      width: 1%; padding: 0 8px 0 12px; text-align: right; color: var(--fhr-dim); user-select: none;
      border-right: 1px solid var(--fhr-line);
    }
    tr.current { background: var(--fhr-hit); }
    tr.current td { color: var(--fhr-hit-fg); }
    tr.current td.num { color: var(--fhr-accent); font-weight: 700; }
    tr.caret td.code { color: var(--fhr-accent); font-weight: 700; }
    h2 {
      margin: 18px 0 4px; font: 600 12px/1.4 var(--fhr-sans); letter-spacing: 0.05em; text-transform: uppercase;
      color: var(--fhr-dim);
    }
    ol { list-style: none; margin: 0; padding: 0; }
    li { padding: 6px 0; border-top: 1px solid var(--fhr-line); }
    .frame-at { font: 13px/1.4 var(--fhr-mono); overflow-wrap: anywhere; }
    .fn { font-weight: 600; }
    .file { color: var(--fhr-dim); }
    .code {
      display: block; margin-top: 2px; padding-left: 16px;
      font: 12.5px/1.5 var(--fhr-mono); white-space: pre; overflow-x: auto; tab-size: 4;
    }
    details { margin-top: 4px; }
    summary { padding: 4px 0; color: var(--fhr-dim); cursor: pointer; font-size: 13px; }
    details li .frame-at, details li .code { opacity: 0.8; }
    .chain { margin: 0; font: 13px/1.5 var(--fhr-mono); overflow-wrap: anywhere; }
    .chain li { border: 0; padding: 2px 0; }
    a.open { color: inherit; text-decoration: underline dotted; text-underline-offset: 2px; }
    a.open:hover, a.open:focus-visible { color: var(--fhr-accent); }
    .tip {
      margin-top: 16px; padding-top: 10px; border-top: 1px solid var(--fhr-line);
      color: var(--fhr-dim); font-size: 12.5px;
    }
  `;
  let host = null; // the element on the page while an overlay shows
  let shownKey = null; // the details it shows
  let loggedKey = null; // the details last written to the console: a repeat stays quiet

  // the rooms beside this one where the whole client runs; a page (or a test) may load this room alone
  const onTop = (el) => (typeof Layer !== "undefined" ? Layer.mount(el) : document.documentElement.append(el));
  const fileLink = (text, target, className) =>
    (typeof Editor !== "undefined" ? Editor.link(text, target, className) : node("span", className || "", text));
  const str = (value) => (typeof value === "string" ? value : value == null ? "" : String(value));
  const list = (value) => (Array.isArray(value) ? value : []);

  function node(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = str(text); // error text never goes in as HTML
    return el;
  }

  function textOf(details) {
    if (typeof details.text === "string" && details.text) return details.text;
    return [str(details.title), str(details.message)].filter(Boolean).join("\n");
  }

  function keyOf(details) {
    try { return JSON.stringify(details); } catch { return textOf(details); }
  }

  function defineElement() {
    // no behaviour of its own: a second copy of this script finds it defined and builds the same way
    if (typeof customElements === "undefined" || customElements.get(TAG)) return;
    try { customElements.define(TAG, class extends HTMLElement {}); } catch { /* defined meanwhile */ }
  }

  function style(root) {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS); // constructed sheets are not inline styles: a strict CSP lets them through
      root.adoptedStyleSheets = [sheet];
    } catch {
      root.appendChild(node("style", "", CSS));
    }
  }

  function heading(title) {
    const h1 = node("h1", "title");
    const dotted = /^[\w.]+\.(\w+)$/.exec(title); // jinja2.exceptions.UndefinedError: the module dimmed
    if (dotted) h1.append(node("span", "module", title.slice(0, -dotted[1].length)), node("span", "", dotted[1]));
    else h1.textContent = title;
    return h1;
  }

  function sourceTable(rows, column) {
    const table = node("table");
    for (const row of rows) {
      const tr = node("tr", row.current ? "current" : "");
      tr.append(node("td", "num", row.line), node("td", "code", row.text));
      table.append(tr);
      if (row.current && column > 0) {
        const caret = node("tr", "caret");
        const pad = str(row.text).slice(0, column - 1).replace(/[^\t]/g, " ");
        caret.append(node("td", "num", ""), node("td", "code", pad + "^"));
        table.append(caret);
      }
    }
    const box = node("div", "source");
    box.append(table);
    return box;
  }

  function frameList(frames) {
    const ol = node("ol");
    for (const frame of frames) {
      const li = node("li");
      const at = node("div", "frame-at");
      const where = str(frame.file) + ":" + str(frame.line);
      // the app's own files open in the editor; a library's (site-packages/...) are not under the watched folders
      const file = frame.app ? fileLink(where, { file: str(frame.file), line: Number(frame.line) || 1 }, "file")
        : node("span", "file", where);
      at.append(node("span", "fn", frame.function), document.createTextNode("  "), file);
      li.append(at);
      if (frame.code) li.append(node("code", "code", frame.code));
      ol.append(li);
    }
    return ol;
  }

  function traceback(frames) {
    const section = node("section", "frames");
    const own = frames.filter((f) => f && f.app);
    const library = frames.filter((f) => f && !f.app);
    section.append(node("h2", "", "Traceback, most recent call last"));
    if (own.length) section.append(frameList(own));
    if (library.length) {
      const fold = node("details");
      fold.open = own.length === 0; // nothing of the app's to show first
      const count = library.length + (library.length === 1 ? " library frame" : " library frames");
      fold.append(node("summary", "", count), frameList(library));
      section.append(fold);
    }
    return section;
  }

  function build(details) {
    const panel = node("div", "panel");
    panel.setAttribute("role", "alertdialog");
    panel.setAttribute("aria-label", str(details.title) || "Error");
    panel.tabIndex = -1;
    const head = node("div", "head");
    const close = node("button", "close", "\u00d7");
    close.type = "button";
    close.title = "Close (Esc)";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", hide);
    head.append(node("span", "kind", KINDS[details.kind] || ""), close);
    panel.append(head, heading(str(details.title) || "Error"));
    if (details.message) panel.append(node("pre", details.kind && details.kind !== "withheld" ? "message" : "message plain", details.message));
    const where = details.location;
    if (where && where.file) {
      const column = where.column ? ":" + str(where.column) : "";
      const template = where.template ? "  (template " + str(where.template) + ")" : "";
      const at = node("div", "where");
      const target = { file: str(where.file), line: Number(where.line) || 1, column: Number(where.column) || 1 };
      at.append(fileLink(str(where.file) + ":" + str(where.line) + column, target), template);
      panel.append(at);
    }
    const rows = list(details.source).filter((r) => r && typeof r === "object");
    if (rows.length) panel.append(sourceTable(rows, Number(where && where.column) || 0));
    const frames = list(details.frames).filter((f) => f && typeof f === "object");
    if (frames.length) panel.append(traceback(frames));
    const chain = list(details.chain).filter((c) => c && typeof c === "object");
    if (chain.length) {
      const ol = node("ol", "chain");
      for (const link of chain) {
        const said = link.relation === "cause" ? "Caused by " : "While handling ";
        ol.append(node("li", "", said + str(link.title) + ": " + str(link.message)));
      }
      panel.append(ol);
    }
    panel.append(node("div", "tip", "Save a fix and this page updates by itself. Esc or a click outside closes this; " +
      "a file:line opens your editor there."));
    return panel;
  }

  function mount(details) {
    defineElement();
    const el = document.createElement(TAG);
    const root = el.attachShadow({ mode: "open" });
    style(root);
    const backdrop = node("div", "backdrop");
    let downOnBackdrop = false; // a text selection that ends outside the panel is not a click outside
    backdrop.addEventListener("pointerdown", (e) => { downOnBackdrop = e.target === backdrop; });
    backdrop.addEventListener("click", (e) => { if (e.target === backdrop && downOnBackdrop) hide(); });
    const panel = build(details);
    backdrop.append(panel);
    root.append(backdrop);
    onTop(el); // in the top layer: above the page's own modal dialog, if one is open
    return panel;
  }

  function onKey(e) {
    if (e.key !== "Escape" || !host) return;
    e.preventDefault(); // Esc closes us, not the page's modal dialog under us too
    hide();
  }

  function hide() {
    if (host) host.remove();
    if (typeof document !== "undefined") document.querySelectorAll(TAG).forEach((el) => el.remove()); // another copy's
    host = null;
    shownKey = null;
    removeEventListener("keydown", onKey, true);
  }

  function show(details, prefix) {
    if (!details || typeof details !== "object") details = { title: str(details) || "Error" };
    const key = keyOf(details);
    if (key !== loggedKey) {
      loggedKey = key;
      console.error((prefix ? prefix + " " : "") + textOf(details));
    }
    if (key === shownKey && shown()) return; // the same error again: keep its scroll and open folds
    hide();
    if (typeof document === "undefined" || !document.documentElement) return;
    const active = document.activeElement;
    const typing = active && active !== document.body && active !== document.documentElement;
    let panel;
    try { panel = mount(details); } catch { return; } // a page that refuses us keeps its console line
    host = panel.getRootNode().host;
    shownKey = key;
    addEventListener("keydown", onKey, true);
    // focus moves in only when nothing else has it: a half-typed form keeps its keystrokes
    if (!typing) panel.focus({ preventScroll: true });
  }

  function clear() {
    hide();
    if (typeof Notes !== "undefined") Notes.clear(); // the page's runtime errors too: an update that worked starts afresh
    loggedKey = null; // after a good update, the same error again is news
  }

  function shown() {
    return host !== null && host.isConnected;
  }

  return { show, clear, shown };
})();
