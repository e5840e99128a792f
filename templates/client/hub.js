// ---- hub: the SharedWorker that fans one connection out to every tab of this origin ----
const Hub = (() => {
  const RECENT = 64; // events kept for a tab that says hi later: it catches up from its own version

  function run() {
    const ports = new Map(); // port -> is its tab visible
    let hello = null; // the last hello, with every event since folded into its recent list
    const broadcast = (msg) => {
      if (msg.type === "hello") hello = { ...msg, recent: [...(msg.recent || [])] };
      else if (msg.type === "down") hello = null;
      else if (hello && typeof msg.version === "number" && msg.boot === hello.boot) {
        hello = { ...hello, version: msg.version, recent: [...hello.recent, msg].slice(-RECENT) };
      }
      for (const port of ports.keys()) port.postMessage(msg);
    };
    const isQuiet = () => ports.size > 0 && ![...ports.values()].some(Boolean);
    const conn = Connection.open(self.location.href, broadcast, isQuiet);
    self.onconnect = (e) => {
      const port = e.ports[0];
      port.onmessage = (m) => {
        const data = m.data || {};
        if (data.bye) { ports.delete(port); return; }
        ports.set(port, !!data.visible);
        if (data.visible) conn.wake();
        if (data.hi && hello) port.postMessage(hello);
      };
      port.start();
    };
  }

  // a tab's side: connect through the worker, or by itself where there is none (or a CSP forbids it)
  function join(scriptUrl, handle, visible) {
    let perTab = null;
    const connectThisTab = () => {
      if (perTab) return;
      perTab = Connection.open(scriptUrl, handle, () => !visible());
      document.addEventListener("visibilitychange", () => { if (visible()) perTab.wake(); });
      addEventListener("pagehide", () => perTab.close());
    };
    let worker = null;
    try {
      if (typeof SharedWorker === "function") worker = new SharedWorker(scriptUrl, { name: "fast-hot-reload" });
    } catch { worker = null; } // blocked by a CSP worker-src, say
    if (!worker) { connectThisTab(); return; }
    let heard = false;
    worker.onerror = () => { if (!heard) connectThisTab(); };
    const port = worker.port;
    port.onmessage = (e) => { heard = true; if (!perTab) handle(e.data); };
    port.start();
    const say = (extra) => port.postMessage({ visible: visible(), ...extra });
    say({ hi: true });
    document.addEventListener("visibilitychange", () => say({}));
    addEventListener("pagehide", () => say({ bye: true }));
    addEventListener("pageshow", (e) => { if (e.persisted) say({ hi: true }); });
  }

  return { run, join };
})();
