// ---- report: the page's console errors and warnings, uncaught errors and rejections, to the server's log ----
const Report = (() => {
  const BURST = 20; // lines sent at once; then RATE a second (the server allows the same, and no more)
  const RATE = 2;
  const BATCH = 20; // lines in one request
  const FLUSH_AFTER = 50; // ms: the lines of one burst go in one request
  const MAX_TEXT = 1000;
  const DROPS_AFTER = 1000; // ms after the first line dropped: how many were
  let endpoint = null;
  let pageId = () => null;
  let ownPath = "";
  let queue = [];
  let dropped = 0;
  let tokens = BURST;
  let filled = 0;
  let timer = null;
  let dropTimer = null;
  let refused = false; // the server said this client may not report (not loopback, nor trusted): stop asking

  function start(scriptUrl, idOf) {
    endpoint = new URL("console", scriptUrl);
    pageId = idOf;
    ownPath = new URL(scriptUrl).pathname;
    filled = Date.now();
    if (CONFIG.forwardConsole) { hookConsole("error"); hookConsole("warn"); }
    addEventListener("error", onError);
    addEventListener("unhandledrejection", onRejection);
  }

  function hookConsole(level) {
    const original = console[level];
    if (typeof original !== "function" || original.fastHotReload) return;
    const hooked = function (...args) {
      try { fromConsole(level, args); } catch { /* a report must never break the page's logging */ }
      return original.apply(this, args);
    };
    hooked.fastHotReload = true;
    console[level] = hooked;
  }

  function fromConsole(level, args) {
    if (typeof args[0] === "string" && args[0].startsWith(CONFIG.prefix)) return; // our own lines stay in the tab
    const error = args.find((a) => a instanceof Error);
    send({ kind: "console", level, message: format(args), at: firstFrame((error || new Error()).stack) });
  }

  function onError(e) {
    const own = e.filename && sameScript(e.filename);
    if (own) return;
    const message = e.error !== undefined && e.error !== null ? text(e.error) : String(e.message || "Script error");
    const at = e.filename ? shortUrl(e.filename) + ":" + e.lineno + ":" + e.colno : firstFrame(e.error && e.error.stack);
    runtimeError({ kind: "error", level: "error", message, at });
  }

  function onRejection(e) {
    const reason = e.reason;
    runtimeError({ kind: "rejection", level: "error", message: text(reason), at: firstFrame(reason && reason.stack) });
  }

  function runtimeError(entry) {
    try { Notes.add(entry); } catch { /* a page that refuses our element keeps the log line */ }
    send(entry);
  }

  // console.log's own formatting, roughly: "%s" and friends take the next arguments, the rest are joined
  function format(args) {
    const rest = [...args];
    let head = typeof rest[0] === "string" ? rest.shift() : null;
    if (head !== null) {
      head = head.replace(/%[sdifoOjc%]/g, (spec) => {
        if (spec === "%%") return "%";
        if (!rest.length) return spec;
        const value = rest.shift();
        return spec === "%c" ? "" : text(value);
      });
    }
    return [...(head !== null ? [head] : []), ...rest.map(text)].join(" ").slice(0, MAX_TEXT);
  }

  function text(value) {
    if (typeof value === "string") return value;
    if (value instanceof Error) return (value.name || "Error") + ": " + value.message;
    if (value === null || typeof value !== "object") return String(value);
    try { return JSON.stringify(value).slice(0, MAX_TEXT); } catch { return Object.prototype.toString.call(value); }
  }

  const sameScript = (url) => { try { return new URL(url, location.href).pathname === ownPath; } catch { return false; } };

  function shortUrl(url) {
    try {
      const parsed = new URL(url, location.href);
      return parsed.origin === location.origin ? parsed.pathname : parsed.href;
    } catch { return String(url); }
  }

  // the first frame of a stack that is not this script's: "/static/app.js:3:9"
  function firstFrame(stack) {
    for (const line of String(stack || "").split("\n")) {
      const match = /\(?((?:https?|file):\/\/[^\s()]+?):(\d+):(\d+)\)?\s*$/.exec(line);
      if (match && !sameScript(match[1])) return shortUrl(match[1]) + ":" + match[2] + ":" + match[3];
    }
    return "";
  }

  function allow() {
    const now = Date.now();
    tokens = Math.min(BURST, tokens + ((now - filled) / 1000) * RATE);
    filled = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  function send(entry) {
    if (!CONFIG.forwardConsole || refused || !endpoint) return;
    if (allow()) {
      queue.push(entry);
      if (timer === null) timer = setTimeout(flush, FLUSH_AFTER);
    } else {
      dropped += 1; // a flood: its count goes in a line of its own, a second later, not with every line
      if (dropTimer === null) dropTimer = setTimeout(flushDropped, DROPS_AFTER);
    }
  }

  function flush() {
    timer = null;
    post(queue.splice(0, BATCH), 0);
    if (queue.length) timer = setTimeout(flush, FLUSH_AFTER);
  }

  function flushDropped() {
    dropTimer = null;
    const count = dropped;
    dropped = 0;
    if (count) post([], count);
  }

  function post(entries, count) {
    const id = pageId();
    if (!id || refused) return;
    const body = { page: id, path: location.pathname, entries, dropped: count };
    fetch(endpoint, { method: "POST", keepalive: true, cache: "no-store", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then((response) => { if (response.status === 403) refused = true; })
      .catch(() => { /* the server is restarting: those lines are lost */ });
  }

  return { start };
})();
