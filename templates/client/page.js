// ---- page: decides what each message means for the document this tab shows ----
const Page = (() => {
  const BADGE_DELAY = 1500; // ms without a server before the page shows a status badge
  const GONE_AFTER = 6000; // ms without a server before the overlay says so
  const LOOP_LIMIT = 8; // reloads in a row that came back still behind the same hello: a stale cache
  const TEMPLATES = /\.(html?|jinja2?|j2)$/i; // templates: a tab that knows its own ignores the others
  const PAGE_FILES = /\.(txt|md|json|ya?ml|toml|csv|xml)$/i; // data a route may render: refresh to find out
  const STYLES = /\.css$/i;
  const IMAGES = /\.(png|jpe?g|gif|webp|avif|svg|ico|bmp)$/i;
  const ERROR_ID = "fast-hot-reload-error"; // our error page carries its details under this id
  const TEMPLATES_HEADER = "X-Hot-Reload-Templates";

  const log = (level, text) => console[level](CONFIG.prefix + " " + text);
  const parse = (html) => new DOMParser().parseFromString(html, "text/html");
  const nameOf = (url) => url.pathname.split("/").pop();

  function run() {
    if (window.__fastHotReload) return; // loaded twice: one client is enough
    const script = document.currentScript;
    const scriptUrl = script ? script.src : "";
    if (!scriptUrl) return;
    window.__fastHotReload = true;
    const ownPath = new URL(scriptUrl).pathname;
    const isOurs = (node) => node.nodeType === 1 && node.tagName === "SCRIPT" && !!node.getAttribute("src") &&
      new URL(node.getAttribute("src"), location.href).pathname === ownPath;
    const skip = (node) => isOurs(node) || (node.nodeType === 1 && /^fast-hot-reload/.test(node.id || node.localName));

    const tab = {
      ...identity(script),
      base: null, // the HTML this tab's DOM last came from (as the server sent it), for the three-way morph
      frame: null, // the page's scripts, when no base is known: what a morph must not change
      fragments: new Set(), // templates of htmx fragments loaded since
      reloading: false,
      busy: false, // an update in place is under way: later messages wait for it
      waiting: [],
      retry: false, // an update failed to reach the server: the next hello does it
      // the app (or this page) asked for plain full reloads: no morph, nothing restored
      plain: CONFIG.fullReload || document.documentElement.hasAttribute("data-fhr-full-reload"),
      gone: false, // the overlay says the server has not come back
    };
    tab.frame = frameOf(document, isOurs);
    State.restore();
    showErrorOf(document);
    fetchBaseline(tab, scriptUrl);
    noteFragments(tab);
    Report.start(scriptUrl, () => tab.id); // tab.id: a refresh in place brings the server's new page id
    Editor.start(scriptUrl, () => tab.id);

    let badgeTimer = null;
    let goneTimer = null;

    function handle(msg) {
      if (tab.reloading) return;
      if (msg.type === "log") { log(msg.level === "warn" ? "warn" : "info", msg.text); return; }
      if (msg.type === "server-log") { serverLog(msg); return; }
      if (tab.busy) { tab.waiting.push(msg); return; }
      if (msg.type === "down") {
        if (badgeTimer === null) badgeTimer = setTimeout(() => showBadge(true), BADGE_DELAY);
        if (goneTimer === null) goneTimer = setTimeout(serverGone, GONE_AFTER);
        return;
      }
      if (msg.type === "error") { Overlay.show(msg.details || {}, CONFIG.prefix); return; }
      if (msg.type === "hello") { greeted(msg); return; }
      if (msg.boot !== tab.boot || !(msg.version > tab.version)) return; // not news for this page
      apply(msg.paths || [], msg.version, msg.type === "css", null, !!msg.truncated);
    }

    function greeted(hello) {
      clearTimeout(badgeTimer); badgeTimer = null; showBadge(false);
      clearTimeout(goneTimer); goneTimer = null;
      if (tab.gone) { tab.gone = false; Overlay.clear(); }
      if (tab.boot === null) { tab.boot = hello.boot; tab.version = hello.version; }
      if (!tab.announced) { tab.announced = true; log("info", CONFIG.connectedMessage); } // reconnects are silent
      if (hello.withheld && !tab.withheldSaid) { tab.withheldSaid = true; log("info", String(hello.withheld)); }
      if (hello.boot !== tab.boot) {
        if (tab.plain) reload("the server restarted", hello); else refresh("the server restarted", hello);
        return;
      }
      if (hello.version > tab.version) {
        const missed = (hello.recent || []).filter((e) => e.version > tab.version);
        // the last events cover everything since this page was rendered: catch up as if they had come live
        const whole = missed.length > 0 && missed[0].version === tab.version + 1;
        const paths = whole ? [...new Set(missed.flatMap((e) => e.paths || []))] : [];
        const cut = whole && missed.some((e) => e.truncated);
        apply(paths, hello.version, whole && missed.every((e) => e.type === "css"), hello, cut);
        return;
      }
      if (tab.retry) { tab.retry = false; refresh("files changed", hello); }
    }

    // what the changed paths mean for this page: nothing, assets to swap, a refresh in place, or a reload
    // `cut`: more files changed than the paths name (a build that rewrote many): nothing can be left out
    function apply(paths, version, cssOnly, hello, cut) {
      const plan = planFor(paths, cssOnly, cut);
      const reason = paths.join(", ") || "files changed";
      if (plan.reload) { reload(reason, hello); return; }
      if (plan.refresh) { refresh(reason, { boot: tab.boot, version }, plan); return; }
      tab.version = version;
      refreshAssets(plan, version);
    }

    function planFor(paths, cssOnly, cut) {
      const plan = { styles: [], images: [], allStyles: false, refresh: false, reload: false };
      if (!paths.length || cut) { // nobody knows the whole list: every stylesheet, or everything
        if (cssOnly) plan.allStyles = true; else plan.reload = true;
        return plan;
      }
      if (tab.plain && !paths.every((p) => STYLES.test(p))) { plan.reload = true; return plan; }
      for (const path of paths) {
        if (STYLES.test(path)) plan.styles.push(path);
        else if (IMAGES.test(path) && !uses(path)) plan.images.push(path);
        else if (TEMPLATES.test(path)) {
          if (tab.fragments.has(path) && !uses(path)) plan.reload = true; // only a reload renders its fragment again
          else if (tab.templates === null || uses(path)) plan.refresh = true;
        } else if (PAGE_FILES.test(path) || uses(path)) plan.refresh = true;
        else plan.reload = true; // a script, or a file we know nothing about: start afresh
      }
      return plan;
    }

    const uses = (path) => tab.templates !== null && tab.templates.has(path);

    function refreshAssets(plan, version) {
      if (plan.allStyles) swapStylesheets(null, version);
      else if (plan.styles.length) swapStylesheets(plan.styles, version);
      if (plan.images.length) refreshImages(plan.images, version);
    }

    // fetch the page again and morph the live one toward it; what cannot be done in place reloads
    function refresh(reason, at, plan) {
      tab.busy = true;
      const hello = at.type === "hello" ? at : null;
      fetchPage(location.href).then((result) => {
        if (result.kind === "offline") { tab.retry = true; return; } // the server is restarting: its hello does it
        if (result.kind === "error") {
          // keep what the tab shows, and say what is wrong over it; the next update that works clears it
          tab.version = Math.max(tab.version, at.version);
          Overlay.show(result.details, CONFIG.prefix);
          return;
        }
        if (result.kind !== "page") { reload(reason, hello); return; }
        const base = tab.base ? parse(tab.base) : null;
        if (!sameFrame(base, result.doc)) { reload(reason + " (its scripts changed)", hello); return; }
        const outcome = morphTo(base, result.doc);
        if (outcome.unplaced > 0) { reload(reason + " (the page's scripts moved what changed)", null); return; }
        Overlay.clear();
        tab.gone = false;
        Object.assign(tab, identityOf(result.doc) || { boot: at.boot, version: at.version });
        tab.version = Math.max(tab.version, at.version);
        tab.base = result.html;
        if (plan) refreshAssets(plan, at.version);
        log(outcome.changed > 0 ? "info" : "debug", (outcome.changed > 0 ? "Refreshed: " : "Up to date: ") + reason);
      }).catch((error) => {
        console.debug(CONFIG.prefix, error);
        reload(reason, null);
      }).finally(() => {
        tab.busy = false;
        for (const queued of tab.waiting.splice(0)) handle(queued);
      });
    }

    function morphTo(base, next) {
      if (base) {
        const outcome = Morph.merge(document.documentElement, base.documentElement, next.documentElement, { skip });
        processNew(outcome.touched);
        return outcome;
      }
      // no copy of what the server sent: the body alone, toward the new one (scripts' changes there are lost)
      if (document.title !== next.title) document.title = next.title;
      const outcome = Morph.merge(document.body, null, next.body, { skip });
      processNew(outcome.touched);
      return outcome;
    }

    function processNew(nodes) {
      // htmx wires up attributes it finds at load: new or changed nodes need the same; Alpine watches by itself
      if (!window.htmx || typeof window.htmx.process !== "function") return;
      for (const node of nodes || []) { try { window.htmx.process(node); } catch { /* not htmx's to take */ } }
    }

    function sameFrame(base, next) {
      return scriptsOf(next, isOurs) === (base ? scriptsOf(base, isOurs) : tab.frame);
    }

    function reload(reason, hello) {
      if (tab.reloading) return;
      // a page that reloads on every connect (served stale from a cache?) must not spin forever
      if (hello && tooManyReloads(hello)) { log("warn", "Not reloading again: this page keeps coming back stale."); return; }
      tab.reloading = true;
      log("info", "Reloading: " + reason);
      if (!tab.plain) State.save();
      location.reload();
    }

    function serverGone() {
      goneTimer = null;
      tab.gone = true;
      Overlay.show({ kind: "gone", title: "The server has not come back",
        message: "It stopped answering a few seconds ago. Look at its terminal: an error on import, say. " +
          "This page updates by itself once the server answers again." }, CONFIG.prefix);
    }

    Hub.join(scriptUrl, handle, () => document.visibilityState !== "hidden");
  }

  // the page as the server renders it now: a page, an error (with its details), unreachable, or something else
  async function fetchPage(url) {
    let response;
    try {
      response = await fetch(url, { cache: "no-store", credentials: "same-origin",
        headers: { Accept: "text/html", "X-Hot-Reload": "refresh" } });
    } catch { return { kind: "offline" }; }
    const type = response.headers.get("content-type") || "";
    const html = type.startsWith("text/html") ? await decoded(response) : null;
    if (response.status >= 500) {
      const doc = html === null ? null : parse(html);
      const carried = doc && doc.getElementById(ERROR_ID);
      let details = null;
      try { details = carried ? JSON.parse(carried.textContent) : null; } catch { details = null; }
      const text = html === null ? await response.text().catch(() => "") : doc.body ? doc.body.textContent : "";
      return { kind: "error", details: details || { title: response.status + " " + response.statusText, message: text.slice(0, 2000) } };
    }
    if (!response.ok || response.redirected || html === null) return { kind: "other" };
    return { kind: "page", doc: parse(html), html };
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

  function frameOf(doc, isOurs) {
    return scriptsOf(doc, isOurs);
  }

  // the server's copy of this page as it sent it: the base of the first three-way morph, even after a restart
  function fetchBaseline(tab, scriptUrl) {
    if (!tab.id) return;
    const url = new URL("page/" + encodeURIComponent(tab.id), scriptUrl);
    url.search = "";
    const load = () => fetch(url, { cache: "no-store", headers: { Accept: "text/plain" } })
      .then((r) => (r.ok ? decoded(r) : null))
      .then((html) => { if (html !== null && tab.base === null) tab.base = html; })
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

  // htmx fragments name the templates they used: edits to those update this tab too
  function noteFragments(tab) {
    document.addEventListener("htmx:afterRequest", (e) => {
      const xhr = e.detail && e.detail.xhr;
      const raw = xhr && typeof xhr.getResponseHeader === "function" ? xhr.getResponseHeader(TEMPLATES_HEADER) : null;
      if (!raw) return;
      try { for (const path of JSON.parse(raw)) tab.fragments.add(path); } catch { /* not ours */ }
    });
  }

  function showErrorOf(doc) {
    const carried = doc.getElementById(ERROR_ID);
    if (!carried) return;
    try { Overlay.show(JSON.parse(carried.textContent), CONFIG.prefix); } catch { /* a page of the app's own */ }
  }

  function serverLog(msg) {
    const level = msg.level === "error" ? "error" : msg.level === "warning" ? "warn" : "info";
    console[level](CONFIG.prefix + " server: " + String(msg.text || ""));
  }

  function tooManyReloads(hello) {
    // only reloads that did not help count: the page came back still behind this very hello
    try {
      const last = JSON.parse(sessionStorage.getItem("fast-hot-reload") || "null");
      const again = last !== null && last.boot === hello.boot && last.version === hello.version;
      const count = again ? last.count + 1 : 1;
      sessionStorage.setItem("fast-hot-reload", JSON.stringify({ boot: hello.boot, version: hello.version, count }));
      return count > LOOP_LIMIT;
    } catch { return false; } // no storage: no guard, but no harm either
  }

  // ---- stylesheets and images, refreshed in place ----
  function bust(href, version) {
    const url = new URL(href, location.href);
    url.searchParams.set("_fhr", String(version));
    return url.href;
  }

  // paths null: every stylesheet of this origin (more changed than an event can name)
  function swapStylesheets(paths, version) {
    const names = new Set((paths || []).map((p) => p.split("/").pop()));
    const links = [...document.querySelectorAll('link[rel~="stylesheet"][href]')]
      .filter((l) => !l.dataset.fhrStale && new URL(l.href).origin === location.origin);
    const named = paths ? links.filter((l) => names.has(nameOf(new URL(l.href)))) : links;
    for (const link of named.length ? named : links) {
      const fresh = link.cloneNode();
      fresh.href = bust(link.href, version);
      link.dataset.fhrStale = "1";
      // the old sheet goes only once the new one is in: no flash of unstyled content
      const done = () => link.remove();
      fresh.addEventListener("load", done, { once: true });
      fresh.addEventListener("error", done, { once: true });
      link.after(fresh);
    }
    log("info", "Stylesheet swapped: " + (paths ? paths.join(", ") : "all of them (many changed)"));
  }

  function refreshImages(paths, version) {
    const names = new Set(paths.map((p) => p.split("/").pop()));
    const matches = (value) => { try { return names.has(nameOf(new URL(value, location.href))); } catch { return false; } };
    const rewrite = (value) => (matches(value) ? bust(value, version) : value);
    const srcset = (value) => value.split(",").map((part) => {
      const [url, ...rest] = part.trim().split(/\s+/);
      return [rewrite(url), ...rest].join(" ");
    }).join(", ");
    for (const el of document.querySelectorAll("img[src], source[src], input[type=image][src]")) {
      if (matches(el.getAttribute("src"))) el.setAttribute("src", rewrite(el.getAttribute("src")));
    }
    for (const el of document.querySelectorAll("img[srcset], source[srcset]")) el.setAttribute("srcset", srcset(el.getAttribute("srcset")));
    for (const el of document.querySelectorAll("image, use, feImage")) {
      for (const attr of ["href", "xlink:href"]) {
        const value = el.getAttribute(attr);
        if (value && !value.startsWith("#") && matches(value)) el.setAttribute(attr, rewrite(value));
      }
    }
    for (const el of document.querySelectorAll('link[rel~="icon"][href], link[rel~="apple-touch-icon"][href]')) {
      if (matches(el.getAttribute("href"))) el.setAttribute("href", rewrite(el.getAttribute("href")));
    }
    for (const el of document.querySelectorAll("[style*='url(']")) el.style.cssText = cssUrls(el.style.cssText, matches, rewrite);
    for (const sheet of document.styleSheets) rewriteSheet(sheet, matches, rewrite);
    log("info", "Images refreshed: " + paths.join(", "));
  }

  function cssUrls(text, matches, rewrite) {
    return text.replace(/url\(\s*(["']?)([^"')]+)\1\s*\)/g, (all, quote, url) => (matches(url) ? `url("${rewrite(url)}")` : all));
  }

  // background and mask images set by stylesheets: the rules that name the image get a fresh URL
  function rewriteSheet(sheet, matches, rewrite) {
    let rules;
    try { rules = sheet.cssRules; } catch { return; } // another origin's sheet: not ours to read
    for (const rule of rules || []) {
      if (rule.styleSheet) rewriteSheet(rule.styleSheet, matches, rewrite);
      if (rule.cssRules) rewriteSheet(rule, matches, rewrite);
      if (!rule.style || !rule.style.cssText.includes("url(")) continue;
      for (const name of [...rule.style]) {
        const value = rule.style.getPropertyValue(name);
        if (value.includes("url(")) {
          const fresh = cssUrls(value, matches, rewrite);
          if (fresh !== value) rule.style.setProperty(name, fresh, rule.style.getPropertyPriority(name));
        }
      }
    }
  }

  function showBadge(on) {
    let badge = document.getElementById("fast-hot-reload-badge");
    if (!on) { if (badge) badge.remove(); return; }
    if (badge || !document.body) return;
    badge = document.createElement("div");
    badge.id = "fast-hot-reload-badge";
    badge.textContent = "⟳ waiting for the server";
    badge.style.cssText = "position:fixed;right:8px;bottom:8px;z-index:2147483647;padding:3px 8px;font:12px system-ui,sans-serif;" +
      "color:#fff;background:rgba(40,40,40,.75);border-radius:4px;pointer-events:none";
    document.body.appendChild(badge);
  }

  return { run };
})();
