// ---- render: the page as the server renders it (fetched again, or its baseline copy) and what a page is ----
const Render = (() => {
  const ERROR_ID = "fast-hot-reload-error"; // our error page carries its details under this id
  const parse = (html) => new DOMParser().parseFromString(html, "text/html");

  // the page as the server renders it now: a page, an error (with its details), unreachable, or something else
  async function fetchPage(url) {
    let response;
    try {
      response = await fetch(url, { cache: "no-store", credentials: "same-origin",
        headers: { Accept: "text/html", "X-Hot-Reload": "refresh" } });
    } catch { return { kind: "offline" }; }
    const type = response.headers.get("content-type") || "";
    const html = type.startsWith("text/html") ? await decoded(response) : null;
    if (response.status >= 500) return { kind: "error", details: await errorOf(response, html) };
    if (!response.ok || response.redirected || html === null) return { kind: "other" };
    return { kind: "page", doc: parse(html), html };
  }

  async function errorOf(response, html) {
    const doc = html === null ? null : parse(html);
    const details = doc ? carriedError(doc) : null;
    const text = html === null ? await response.text().catch(() => "") : doc.body ? doc.body.textContent : "";
    return details || { title: response.status + " " + response.statusText, message: text.slice(0, 2000) };
  }

  // the details our error page carries, or null (a page of the app's own)
  function carriedError(doc) {
    const carried = doc.getElementById(ERROR_ID);
    try { return carried ? JSON.parse(carried.textContent) : null; } catch { return null; }
  }

  // the server's copy of a page as it sent it: the base of the first three-way morph, even after a restart
  function fetchBaseline(pageId, scriptUrl, take) {
    if (!pageId) return;
    const url = new URL("page/" + encodeURIComponent(pageId), scriptUrl);
    url.search = "";
    const load = () => fetch(url, { cache: "no-store", headers: { Accept: "text/plain" } })
      .then((r) => (r.ok ? decoded(r) : null))
      .then((html) => { if (html !== null) take(html); })
      .catch(() => {});
    if (typeof requestIdleCallback === "function") requestIdleCallback(load, { timeout: 1000 });
    else setTimeout(load, 200);
  }

  // a page's bytes as the browser decoded the page: its Content-Type's charset, else the live page's (a latin-1
  // page read as UTF-8 would morph mojibake in); response.text() is always UTF-8
  async function decoded(response) {
    const match = /charset\s*=\s*"?([\w.:-]+)/i.exec(response.headers.get("content-type") || "");
    const buffer = await response.arrayBuffer();
    for (const label of [match && match[1], document.characterSet, "utf-8"]) {
      if (!label) continue;
      try { return new TextDecoder(label).decode(buffer); } catch { /* a label this browser does not know */ }
    }
    return new TextDecoder().decode(buffer);
  }

  // ---- what a page is: the boot id and version it was rendered at, its id, its templates ----
  function identity(script) {
    const raw = script.dataset.templates;
    let templates = null;
    try { templates = raw ? new Set(JSON.parse(raw)) : null; } catch { templates = null; }
    return { boot: script.dataset.boot || null, version: Number(script.dataset.version || 0),
      id: script.dataset.page || null, templates };
  }

  function identityOf(doc) {
    const tag = [...doc.scripts].find((s) => s.dataset.boot && s.dataset.version !== undefined);
    return tag ? identity(tag) : null;
  }

  // the page's scripts in order (src, or inline text): a morph cannot run a new one, so a change reloads
  function scriptsOf(doc, isOurs) {
    const scripts = [...doc.querySelectorAll("script")].filter((s) => !isOurs(s));
    const base = doc.querySelector("base[href]");
    return JSON.stringify([base ? base.getAttribute("href") : null,
      ...scripts.map((s) => [s.getAttribute("type") || "", s.getAttribute("src") || s.textContent])]);
  }

  return { parse, fetchPage, carriedError, fetchBaseline, decoded, identity, identityOf, scriptsOf };
})();
