// ---- htmx: what the page's htmx loaded, asked for again and morphed in place when the server changes ----
const Htmx = (() => {
  const TEMPLATES_HEADER = "X-Hot-Reload-Templates"; // the templates a fragment's response rendered
  const LIMIT = 50; // swaps remembered at most (the latest per target): a page that polls must not grow it
  const IN_PLACE = new Set(["innerHTML", "outerHTML"]); // swaps whose whole content a new response replaces
  const OOB = "[hx-swap-oob],[data-hx-swap-oob]";
  const records = new Map(); // the element a swap filled (its target, or what replaced it) -> how to ask again
  const unsafe = new Set(); // templates of swaps that cannot be asked again (not GET, appended): a reload shows them
  const asked = new WeakMap(); // xhr -> what htmx knew when it sent the request, and what its swap overrode

  // an attribute as htmx reads it: on the element or inherited from an ancestor, with or without data-
  function attrOf(el, name) {
    const at = el && el.closest ? el.closest(`[${name}],[data-${name}]`) : null;
    return at ? at.getAttribute(name) ?? at.getAttribute("data-" + name) : null;
  }

  // `found(paths)`: each htmx response that names its templates; `moved()`: htmx pushed, replaced or restored a URL
  function watch(found, moved) {
    document.addEventListener("htmx:beforeRequest", requested);
    document.addEventListener("htmx:beforeSwap", (e) => overrides(e.detail || {}));
    document.addEventListener("htmx:afterSwap", swapped);
    document.addEventListener("htmx:afterRequest", (e) => {
      const paths = templatesOf(e.detail && e.detail.xhr);
      if (paths) found(paths);
    });
    for (const name of ["htmx:pushedIntoHistory", "htmx:replacedInHistory", "htmx:historyRestore"]) {
      document.addEventListener(name, () => moved());
    }
  }

  // from an xhr (htmx's) or a fetch's headers (ours)
  function templatesOf(from) {
    const read = from && (typeof from.getResponseHeader === "function" ? from.getResponseHeader : from.get);
    const raw = typeof read === "function" ? read.call(from, TEMPLATES_HEADER) : null;
    let paths = null;
    try { paths = raw ? JSON.parse(raw) : null; } catch { return null; } // not ours
    return Array.isArray(paths) ? paths : null;
  }

  // the element that asked, while it is still in the page: how it swaps, as htmx reads it (inherited attributes)
  function requested(e) {
    const xhr = e.detail && e.detail.xhr;
    if (!xhr) return;
    asked.set(xhr, { swap: attrOf(e.target, "hx-swap"), select: attrOf(e.target, "hx-select"),
      selectOob: attrOf(e.target, "hx-select-oob") });
  }

  function overrides(detail) {
    const known = detail.xhr && asked.get(detail.xhr);
    if (!known) return;
    const header = (name) => detail.xhr.getResponseHeader(name);
    known.swap = detail.swapOverride || header("HX-Reswap") || known.swap; // htmx 2 names it, htmx 1 only reads the header
    known.select = detail.selectOverride || header("HX-Reselect") || known.select;
  }

  // htmx sends afterSwap to every element of one swap with one detail: the first is the target (kept) or the
  // first new element (outerHTML); the latest swap of a target wins
  function swapped(e) {
    const detail = e.detail || {};
    const config = detail.requestConfig;
    const xhr = detail.xhr;
    const known = xhr && asked.get(xhr);
    if (!config || !known || known.done) return;
    known.done = true;
    const style = styleOf(known.swap);
    const live = e.target;
    const kept = live === detail.target;
    const record = {
      live, style, select: known.select,
      url: new URL((detail.pathInfo && detail.pathInfo.finalRequestPath) || config.path, location.href).href,
      headers: stringsOf(config.headers),
      context: (kept ? live : live.parentElement || live).localName, // where the response is parsed, as htmx does
      base: typeof xhr.response === "string" ? xhr.response : xhr.responseText,
      templates: new Set(templatesOf(xhr) || []),
    };
    // asked again only when that is safe and its place is known: other swaps keep what they show until a reload
    // (and only this server's: another origin's data did not change with our files, nor do we send it requests)
    record.renewable = new URL(record.url).origin === location.origin &&
      String(config.verb).toLowerCase() === "get" && !detail.boosted && !known.selectOob &&
      IN_PLACE.has(style) && kept === (style === "innerHTML") && contentOf(record, record.base) !== null;
    if (!record.renewable) for (const path of record.templates) unsafe.add(path);
    remember(record);
  }

  function styleOf(spec) {
    const config = window.htmx && window.htmx.config;
    return String(spec || (config && config.defaultSwapStyle) || "innerHTML").trim().split(/\s+/)[0];
  }

  const stringsOf = (headers) => Object.fromEntries(Object.entries(headers || {}).filter(([, v]) => typeof v === "string"));

  function remember(record) {
    records.delete(record.live);
    prune();
    while (records.size >= LIMIT) records.delete(records.keys().next().value);
    records.set(record.live, record);
  }

  function prune() {
    for (const live of [...records.keys()]) if (!live.isConnected) records.delete(live);
  }

  // a template change only fragments show: true when asking again for the swaps that show it does it all
  // (otherwise, a swap not to be asked again showed it, or we know of none: only a reload renders it again)
  function renews(path) {
    prune();
    return !unsafe.has(path) && [...records.values()].some((r) => r.renewable && r.templates.has(path));
  }

  // ask again for what the renewable swaps (that `wanted` picks) loaded, and morph each toward its new response
  // three-way (the base is the response before), so what the user typed in them stays
  async function renew(wanted, skip) {
    prune();
    const list = [...records.values()].filter((r) => r.renewable && wanted(r));
    list.sort((a, b) => (a.live.compareDocumentPosition(b.live) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
    const answers = await Promise.all(list.map(askAgain));
    const outcome = { changed: 0, unplaced: 0, error: null, found: [] };
    list.forEach((record, k) => place(record, answers[k], skip, outcome));
    return outcome;
  }

  async function askAgain(record) {
    try {
      const response = await fetch(record.url, { method: "GET", cache: "no-store", credentials: "same-origin",
        headers: { ...record.headers, "X-Hot-Reload": "refresh" } });
      const text = await Render.decoded(response);
      if (response.status >= 500) {
        return { error: { title: `${response.status} ${response.statusText} from ${record.url}`, message: text.slice(0, 2000) } };
      }
      // what htmx would not swap (a redirect it follows by itself, 204, 286, an error): leave it as it is
      const elsewhere = response.headers.get("HX-Redirect") || response.headers.get("HX-Refresh");
      if (response.status !== 200 || response.redirected || elsewhere) return null;
      return { html: text, templates: templatesOf(response.headers) };
    } catch { return null; } // the server is away: the next hello does it again
  }

  function place(record, answer, skip, outcome) {
    // htmx swapped something newer meanwhile, or the content went away
    if (!answer || records.get(record.live) !== record || !record.live.isConnected) return;
    if (answer.error) { outcome.error = answer.error; return; }
    const base = contentOf(record, record.base);
    const next = contentOf(record, answer.html);
    // a new script would not run in a morph: as for the page, a reload runs it
    const scripts = (content) => Render.scriptsOf(content, () => false);
    if (!base || !next || scripts(base) !== scripts(next)) { outcome.unplaced++; return; }
    const merged = Morph.merge(record.live, base, next, { skip });
    process(merged.touched);
    outcome.changed += merged.changed;
    outcome.unplaced += merged.unplaced;
    record.base = answer.html;
    if (answer.templates) { record.templates = new Set(answer.templates); outcome.found.push(...answer.templates); }
  }

  // a response as htmx would swap it: parsed where it goes, hx-select applied; null when we cannot tell (oob)
  function contentOf(record, html) {
    const doc = document.implementation.createHTMLDocument("");
    const box = doc.createElement(record.context);
    if (!/^\s*<(!doctype|html|head|body)\b/i.test(html)) box.innerHTML = html;
    else box.append(...new DOMParser().parseFromString(html, "text/html").body.childNodes); // a whole page
    for (const title of box.querySelectorAll("title")) title.remove(); // htmx takes it for the page's
    if (box.querySelector(OOB)) return null;
    let content = box;
    if (record.select) {
      content = doc.createElement(record.context);
      try { content.append(...box.querySelectorAll(record.select)); } catch { return null; }
    }
    if (record.style === "innerHTML") return content;
    const elements = [...content.children];
    const loose = [...content.childNodes].some((n) => (n.nodeType === 3 ? n.nodeValue.trim() : n.nodeType !== 1 && n.nodeType !== 8));
    return elements.length === 1 && !loose && elements[0].localName === record.live.localName ? elements[0] : null;
  }

  // htmx wires up attributes it finds at load: new or changed nodes need the same; Alpine watches by itself
  function process(nodes) {
    if (!window.htmx || typeof window.htmx.process !== "function") return;
    for (const node of nodes || []) { try { window.htmx.process(node); } catch { /* not htmx's to take */ } }
  }

  return { watch, renews, renew, process };
})();
