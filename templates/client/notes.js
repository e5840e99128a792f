// ---- notes: the page's own runtime errors, as small dismissible entries in a corner of the page ----
const Notes = (() => {
  const TAG = "fast-hot-reload-notes";
  const MAX = 5; // entries shown; an error seen again counts up instead
  const CSS = `
    :host {
      all: initial !important; display: block !important; position: fixed !important;
      inset: auto 12px 12px auto !important; margin: 0 !important; padding: 0 !important; border: 0 !important;
      width: min(440px, calc(100vw - 24px)) !important; height: auto !important; overflow: visible !important;
      background: transparent !important; z-index: 2147483647 !important; visibility: visible !important;
    }
    .note {
      --fhr-bg: #ffffff; --fhr-fg: #1f2328; --fhr-dim: #59636e; --fhr-accent: #cf222e; --fhr-edge: #d1d9e0;
      display: grid; grid-template-columns: 1fr auto; gap: 2px 8px; margin-top: 8px; padding: 8px 10px;
      background: var(--fhr-bg); color: var(--fhr-fg); border: 1px solid var(--fhr-edge);
      border-left: 4px solid var(--fhr-accent); border-radius: 6px; box-shadow: 0 6px 20px rgba(0, 0, 0, 0.25);
      font: 13px/1.4 ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; text-align: left; direction: ltr;
    }
    @media (prefers-color-scheme: dark) {
      .note { --fhr-bg: #1c1f24; --fhr-fg: #e6edf3; --fhr-dim: #9198a1; --fhr-accent: #ff7b72; --fhr-edge: #3d444d; }
    }
    .kind { grid-column: 1; font: 600 11px/1.4 system-ui, sans-serif; letter-spacing: 0.05em;
      text-transform: uppercase; color: var(--fhr-accent); }
    .close { grid-column: 2; grid-row: 1 / span 2; align-self: start; width: 24px; height: 24px; padding: 0;
      border: 0; border-radius: 4px; background: transparent; color: var(--fhr-dim); font: 18px/1 system-ui, sans-serif;
      cursor: pointer; }
    .close:hover { color: var(--fhr-fg); }
    .message { grid-column: 1; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 6.5em; overflow: auto; }
    .at { grid-column: 1; color: var(--fhr-dim); overflow-wrap: anywhere; }
    a.open { color: inherit; text-decoration: underline dotted; }
    a.open:hover { color: var(--fhr-accent); }
  `;
  let host = null;
  let list = null;
  const seen = new Map(); // key -> its entry

  function node(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = String(text); // the page's error text never goes in as HTML
    return el;
  }

  function ensureHost() {
    if (host && host.isConnected) return;
    if (typeof customElements !== "undefined" && !customElements.get(TAG)) {
      try { customElements.define(TAG, class extends HTMLElement {}); } catch { /* defined meanwhile */ }
    }
    host = document.createElement(TAG);
    const root = host.attachShadow({ mode: "open" });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch { root.append(node("style", "", CSS)); }
    list = node("div", "list");
    list.setAttribute("role", "status");
    root.append(list);
    seen.clear();
    Layer.mount(host);
  }

  // entry: {kind: "error" | "rejection", message, at ("/static/app.js:3:9")}
  function add(entry) {
    if (typeof document === "undefined" || !document.documentElement) return;
    const key = entry.kind + "\n" + entry.message + "\n" + entry.at;
    const known = seen.get(key);
    if (known && known.isConnected) { known.count += 1; known.kindEl.textContent = title(entry, known.count); return; }
    try { ensureHost(); } catch { return; }
    const note = node("div", "note");
    note.count = 1;
    note.kindEl = node("div", "kind", title(entry, 1));
    const close = node("button", "close", "\u00d7");
    close.type = "button";
    close.title = "Dismiss";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", () => dismiss(note, key));
    note.append(note.kindEl, close, node("div", "message", entry.message));
    if (entry.at) {
      const target = Editor.scriptTarget(entry.at);
      const at = node("div", "at");
      at.append(target ? Editor.link(entry.at, target) : document.createTextNode(entry.at));
      note.append(at);
    }
    list.append(note);
    seen.set(key, note);
    while (list.children.length > MAX) dismiss(list.firstElementChild, null);
  }

  function title(entry, count) {
    return (entry.kind === "rejection" ? "Unhandled rejection" : "Uncaught error") + (count > 1 ? " \u00d7" + count : "");
  }

  function dismiss(note, key) {
    note.remove();
    for (const [k, v] of seen) if (v === note || k === key) seen.delete(k);
    if (list && !list.children.length) clear();
  }

  function clear() {
    if (host) host.remove();
    host = null;
    list = null;
    seen.clear();
  }

  const count = () => (list ? list.children.length : 0);

  return { add, clear, count };
})();
