// ---- page: decides what each message means for the document this tab shows ----
// One `tab` object holds what this tab knows; the functions below take it, and ask the other rooms to act.
const Page = (() => {
  const BADGE_DELAY = 1500; // ms without a server before the page shows a status badge
  const GONE_AFTER = 6000; // ms without a server before the overlay says so
  const LOOP_LIMIT = 8; // reloads in a row that came back still behind the same hello: a stale cache
  const TEMPLATES = /\.(html?|jinja2?|j2)$/i; // templates: a tab that knows its own ignores the others
  const PAGE_FILES = /\.(txt|md|json|ya?ml|toml|csv|xml)$/i; // data a route may render: refresh to find out
  const STYLES = /\.css$/i;
  const IMAGES = /\.(png|jpe?g|gif|webp|avif|svg|ico|bmp)$/i;

  const log = (level, text) => console[level](CONFIG.prefix + " " + text);

  function run() {
    if (window.__fastHotReload) return; // loaded twice: one client is enough
    const script = document.currentScript;
    const scriptUrl = script ? script.src : "";
    if (!scriptUrl) return;
    window.__fastHotReload = true;
    const tab = tabOf(script, scriptUrl);
    State.restore();
    showErrorOf(document);
    Render.fetchBaseline(tab.id, scriptUrl, (html) => { if (tab.base === null) tab.base = html; });
    Htmx.watch((paths) => found(tab, paths), () => whenIdle(tab, () => rebaseline(tab)));
    Report.start(scriptUrl, () => tab.id); // tab.id: a refresh in place brings the server's new page id
    Editor.start(scriptUrl, () => tab.id);
    Hub.join(scriptUrl, handlers(tab), () => document.visibilityState !== "hidden");
  }

  function tabOf(script, scriptUrl) {
    const ownPath = new URL(scriptUrl).pathname;
    const isOurs = (node) => node.nodeType === 1 && node.tagName === "SCRIPT" && !!node.getAttribute("src") &&
      new URL(node.getAttribute("src"), location.href).pathname === ownPath;
    return {
      ...Render.identity(script), // boot, version, id, templates
      isOurs,
      skip: (node) => isOurs(node) || (node.nodeType === 1 && /^fast-hot-reload/.test(node.id || node.localName)),
      base: null, // the HTML this tab's DOM last came from (as the server sent it), for the three-way morph
      frame: Render.scriptsOf(document, isOurs), // the page's scripts, when no base is known: what a morph must not change
      fragments: new Set(), // templates of htmx fragments loaded since (Htmx knows which swap showed which)
      reloading: false,
      busy: false, // an update in place is under way: later messages wait for it
      waiting: [],
      retry: false, // an update failed to reach the server: the next hello does it
      // the app (or this page) asked for plain full reloads: no morph, nothing restored
      plain: CONFIG.fullReload || document.documentElement.hasAttribute("data-fhr-full-reload"),
      gone: false, // the overlay says the server has not come back
      badgeTimer: null,
      goneTimer: null,
      announced: false,
      withheldSaid: false,
    };
  }

  // the connection's three callbacks (Hub.join): the server's messages, its going away, and its console lines
  function handlers(tab) {
    return {
      log: (level, text) => { if (!tab.reloading) log(level === "warn" ? "warn" : "info", text); },
      down: () => whenIdle(tab, () => serverDown(tab)),
      message: (msg) => {
        if (msg.type === "server-log") { if (!tab.reloading) serverLog(msg); return; }
        whenIdle(tab, () => received(tab, msg));
      },
    };
  }

  // an update in place is under way: what comes meanwhile waits for it (and nothing matters once reloading)
  function whenIdle(tab, act) {
    if (tab.reloading) return;
    if (tab.busy) tab.waiting.push(act); else act();
  }

  const found = (tab, paths) => { for (const path of paths) tab.fragments.add(path); };

  function received(tab, msg) {
    if (msg.type === "error") { Overlay.show(msg.details || {}, CONFIG.prefix); return; }
    if (msg.type === "hello") { greeted(tab, msg); return; }
    if (!Protocol.isChange(msg) || msg.boot !== tab.boot || !(msg.version > tab.version)) return; // not news here
    apply(tab, msg.paths || [], msg.version, msg.type === "css", null, !!msg.truncated);
  }

  function serverDown(tab) {
    if (tab.badgeTimer === null) tab.badgeTimer = setTimeout(() => showBadge(true), BADGE_DELAY);
    if (tab.goneTimer === null) tab.goneTimer = setTimeout(() => serverGone(tab), GONE_AFTER);
  }

  function serverBack(tab) {
    clearTimeout(tab.badgeTimer); tab.badgeTimer = null; showBadge(false);
    clearTimeout(tab.goneTimer); tab.goneTimer = null;
    if (tab.gone) { tab.gone = false; Overlay.clear(); }
  }

  function greeted(tab, hello) {
    serverBack(tab);
    if (tab.boot === null) { tab.boot = hello.boot; tab.version = hello.version; }
    if (!tab.announced) { tab.announced = true; log("info", CONFIG.connectedMessage); } // reconnects are silent
    if (hello.withheld && !tab.withheldSaid) { tab.withheldSaid = true; log("info", String(hello.withheld)); }
    if (hello.boot !== tab.boot) {
      if (tab.plain) reload(tab, "the server restarted", hello); else refresh(tab, "the server restarted", hello);
      return;
    }
    // the hello's last events cover everything since this page was rendered: catch up as if they had come live
    const missed = Protocol.catchUp(hello.recent, tab.version, hello.version);
    if (missed) { apply(tab, missed.paths, missed.version, missed.type === "css", hello, missed.truncated); return; }
    if (tab.retry) { tab.retry = false; refresh(tab, "files changed", hello); }
  }

  // what the changed paths mean for this page: nothing, assets to swap, a refresh in place, or a reload
  // `cut`: more files changed than the paths name (a build that rewrote many): nothing can be left out
  function apply(tab, paths, version, cssOnly, hello, cut) {
    const plan = planFor(tab, paths, cssOnly, cut);
    const reason = paths.join(", ") || "files changed";
    if (plan.reload) { reload(tab, reason, hello); return; }
    if (plan.refresh) { refresh(tab, reason, { boot: tab.boot, version }, plan); return; }
    if (plan.fragments.length) { renewOnly(tab, reason, version, plan); return; }
    tab.version = version;
    Assets.refresh(plan, version);
  }

  function planFor(tab, paths, cssOnly, cut) {
    const plan = { styles: [], images: [], fragments: [], allStyles: false, refresh: false, reload: false };
    const uses = (path) => tab.templates !== null && tab.templates.has(path);
    if (!paths.length || cut) { // nobody knows the whole list: every stylesheet, or everything
      if (cssOnly) plan.allStyles = true; else plan.reload = true;
      return plan;
    }
    if (tab.plain && !paths.every((p) => STYLES.test(p))) { plan.reload = true; return plan; }
    for (const path of paths) {
      if (STYLES.test(path)) plan.styles.push(path);
      else if (IMAGES.test(path) && !uses(path)) plan.images.push(path);
      else if (TEMPLATES.test(path)) {
        // only htmx fragments show it: their GETs are sent again; a POST's (or appended) only a reload renders
        if (tab.fragments.has(path) && !uses(path)) {
          if (Htmx.renews(path)) plan.fragments.push(path); else plan.reload = true;
        } else if (tab.templates === null || uses(path)) plan.refresh = true;
      } else if (PAGE_FILES.test(path) || uses(path)) plan.refresh = true;
      else plan.reload = true; // a script, or a file we know nothing about: start afresh
    }
    return plan;
  }

  // fetch the page again and morph the live one toward it; what cannot be done in place reloads
  function refresh(tab, reason, at, plan) {
    const hello = at.type === "hello" ? at : null;
    exclusive(tab, reason, () => Render.fetchPage(location.href)
      .then((result) => refreshed(tab, result, reason, at, hello, plan)));
  }

  // one update in place at a time: what comes meanwhile waits for it; a bug of ours reloads
  function exclusive(tab, reason, work) {
    tab.busy = true;
    work()
      .catch((error) => { console.debug(CONFIG.prefix, error); reload(tab, reason, null); })
      .finally(() => {
        tab.busy = false;
        for (const act of tab.waiting.splice(0)) whenIdle(tab, act);
      });
  }

  function refreshed(tab, result, reason, at, hello, plan) {
    if (result.kind === "offline") { tab.retry = true; return; } // the server is restarting: its hello does it
    if (result.kind === "error") {
      // keep what the tab shows, and say what is wrong over it; the next update that works clears it
      tab.version = Math.max(tab.version, at.version);
      Overlay.show(result.details, CONFIG.prefix);
      return;
    }
    if (result.kind !== "page") { reload(tab, reason, hello); return; }
    const base = tab.base ? Render.parse(tab.base) : null;
    if (!sameFrame(tab, base, result.doc)) { reload(tab, reason + " (its scripts changed)", hello); return; }
    const outcome = morphTo(tab, base, result.doc);
    if (outcome.unplaced > 0) { reload(tab, reason + " (the page's scripts moved what changed)", null); return null; }
    Overlay.clear();
    tab.gone = false;
    Object.assign(tab, Render.identityOf(result.doc) || { boot: at.boot, version: at.version });
    tab.version = Math.max(tab.version, at.version);
    tab.base = result.html;
    if (plan) Assets.refresh(plan, at.version);
    // what htmx loaded after the page came from the server too (data, a restart): ask for it again
    return Htmx.renew(() => true, tab.skip).then((fragments) => settled(tab, reason, outcome.changed, fragments));
  }

  // a template that only htmx fragments show: ask for those again, the page stays
  function renewOnly(tab, reason, version, plan) {
    const shows = (record) => plan.fragments.some((path) => record.templates.has(path));
    exclusive(tab, reason, () => Htmx.renew(shows, tab.skip).then((fragments) => {
      if (!settled(tab, reason, 0, fragments)) return;
      tab.version = Math.max(tab.version, version);
      Assets.refresh(plan, version);
    }));
  }

  // the fragments' outcome after the page's: one line for both; false when the tab reloads instead
  function settled(tab, reason, changed, fragments) {
    found(tab, fragments.found);
    if (fragments.unplaced > 0) { reload(tab, reason + " (htmx content could not be updated in place)", null); return false; }
    if (fragments.error) Overlay.show(fragments.error, CONFIG.prefix);
    else Overlay.clear();
    const any = changed + fragments.changed > 0;
    log(any ? "info" : "debug", (any ? "Refreshed: " : "Up to date: ") + reason);
    return true;
  }

  // htmx pushed, replaced or restored a URL: the page's baseline follows, so a later morph sees what htmx changed
  // as it stands, not as a change of the server's (taken only if nothing changed meanwhile: the same boot and version)
  function rebaseline(tab) {
    exclusive(tab, "files changed", () => Render.fetchPage(location.href).then((result) => {
      const identity = result.kind === "page" ? Render.identityOf(result.doc) : null;
      if (!identity || identity.boot !== tab.boot || identity.version !== tab.version) return;
      tab.base = result.html;
      tab.templates = identity.templates;
      tab.id = identity.id;
      log("debug", "Baseline: " + location.pathname + location.search);
    }).catch((error) => console.debug(CONFIG.prefix, error))); // the old baseline stays: no reason to reload
  }

  function morphTo(tab, base, next) {
    // no copy of what the server sent: the body alone, toward the new one (scripts' changes there are lost)
    if (!base && document.title !== next.title) document.title = next.title;
    const outcome = base
      ? Morph.merge(document.documentElement, base.documentElement, next.documentElement, { skip: tab.skip })
      : Morph.merge(document.body, null, next.body, { skip: tab.skip });
    Htmx.process(outcome.touched);
    return outcome;
  }

  function sameFrame(tab, base, next) {
    return Render.scriptsOf(next, tab.isOurs) === (base ? Render.scriptsOf(base, tab.isOurs) : tab.frame);
  }

  function reload(tab, reason, hello) {
    if (tab.reloading) return;
    // a page that reloads on every connect (served stale from a cache?) must not spin forever
    if (hello && tooManyReloads(hello)) { log("warn", "Not reloading again: this page keeps coming back stale."); return; }
    tab.reloading = true;
    log("info", "Reloading: " + reason);
    if (!tab.plain) State.save();
    location.reload();
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

  // ---- what the page says about the server: errors, its log lines, the badge while it is away ----
  function showErrorOf(doc) {
    const details = Render.carriedError(doc);
    if (details) Overlay.show(details, CONFIG.prefix);
  }

  function serverLog(msg) {
    const level = msg.level === "error" ? "error" : msg.level === "warning" ? "warn" : "info";
    console[level](CONFIG.prefix + " server: " + String(msg.text || ""));
  }

  function serverGone(tab) {
    tab.goneTimer = null;
    tab.gone = true;
    Overlay.show({ kind: "gone", title: "The server has not come back",
      message: "It stopped answering a few seconds ago. Look at its terminal: an error on import, say. " +
        "This page updates by itself once the server answers again." }, CONFIG.prefix);
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
