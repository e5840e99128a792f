// ---- hub: the SharedWorker that fans one connection out to every tab of this origin ----
// Worker and tabs speak in ["message", msg], ["down"] and ["log", level, text]: the connection's three callbacks.
const Hub = (() => {
  const CALLS = new Set(["message", "down", "log"]);

  function run() {
    const ports = new Map(); // port -> is its tab visible
    let hello = null; // the last hello, kept current (Protocol.keepHello) for tabs that join later
    const toAll = (call) => { for (const port of ports.keys()) port.postMessage(call); };
    const isQuiet = () => ports.size > 0 && ![...ports.values()].some(Boolean);
    const conn = Connection.open(self.location.href, {
      message: (msg) => { hello = Protocol.keepHello(hello, msg); toAll(["message", msg]); },
      down: () => { hello = null; toAll(["down"]); },
      log: (level, text) => toAll(["log", level, text]),
    }, isQuiet);
    self.onconnect = (e) => listen(e.ports[0], ports, conn, () => hello);
  }

  function listen(port, ports, conn, lastHello) {
    port.onmessage = (m) => {
      const data = m.data || {};
      if (data.bye) { ports.delete(port); return; }
      ports.set(port, !!data.visible);
      if (data.visible) conn.wake();
      if (data.hi && lastHello()) port.postMessage(["message", lastHello()]);
    };
    port.start();
  }

  // a call from the worker, to the tab's own handlers
  function deliver(on, call) {
    if (!Array.isArray(call) || !CALLS.has(call[0])) return;
    const [name, ...args] = call;
    on[name](...args);
  }

  // a tab's side: connect through the worker, or by itself where there is none (or a CSP forbids it)
  function join(scriptUrl, on, visible) {
    let perTab = null;
    const connectThisTab = () => {
      if (perTab) return;
      perTab = Connection.open(scriptUrl, on, () => !visible());
      document.addEventListener("visibilitychange", () => { if (visible()) perTab.wake(); });
      addEventListener("pagehide", () => perTab.close());
    };
    const worker = sharedWorker(scriptUrl);
    if (!worker) { connectThisTab(); return; }
    let heard = false;
    worker.onerror = () => { if (!heard) connectThisTab(); };
    const port = worker.port;
    port.onmessage = (e) => { heard = true; if (!perTab) deliver(on, e.data); };
    port.start();
    const say = (extra) => port.postMessage({ visible: visible(), ...extra });
    say({ hi: true });
    document.addEventListener("visibilitychange", () => say({}));
    addEventListener("pagehide", () => say({ bye: true }));
    addEventListener("pageshow", (e) => { if (e.persisted) say({ hi: true }); });
  }

  function sharedWorker(scriptUrl) {
    try {
      return typeof SharedWorker === "function" ? new SharedWorker(scriptUrl, { name: "fast-hot-reload" }) : null;
    } catch { return null; } // blocked by a CSP worker-src, say
  }

  return { run, join };
})();
