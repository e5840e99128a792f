// ---- connection: one per SharedWorker (or per tab without one); transports, backoff, probe timeouts ----
const Connection = (() => {
  const FAST_RETRIES = [0, 25, 50, 100, 200, 400, 800]; // ms: quick while a restart is likely
  const ANNOUNCE_FROM = 400; // ms: shorter waits are a restart in progress, not worth a console line
  const ANNOUNCE_AFTER = 2000; // ms of outage after which it is worth a line, however short the next wait
  const STABLE_MS = 1000; // a connection dropped sooner after its hello was a server going away
  // a probe that waits in a listening socket nobody serves (a reloader whose worker failed) gets no answer: give up on it
  const PROBE_TIMEOUT = 3000;
  // a server that said it is stopping: try the next one at least this often, for this long (a reloader's restart)
  const RESTART_RETRY = 100;
  const RESTART_WINDOW = 5000; // ms: a reloader seen slowest (hypercorn polls once a second), then a slow import

  function endpoint(scriptUrl, kind) {
    const url = new URL(kind === "ws" ? "ws" : "events", scriptUrl);
    url.search = "";
    if (kind === "ws") {
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      if (CONFIG.wsHost) url.hostname = CONFIG.wsHost;
      if (CONFIG.wsPort) url.port = String(CONFIG.wsPort);
    }
    return url.href;
  }

  // emit(msg): every server message, plus {type: "down"} and {type: "log", level, text} of our own
  function open(scriptUrl, emit, isQuiet) {
    let transport = CONFIG.transport;
    let failures = 0; // attempts in a row that never reached the server
    let wsRefused = 0; // websocket attempts in a row that failed before opening
    let announcedFallback = false;
    let lastAnnounced = null;
    let downSince = null; // when the server was last heard of, while it is not
    let channel = null;
    let timer = null;
    let stopped = false; // closed for good: the tab is going away
    let restartUntil = 0; // the server said it is stopping: until then, retry at a steady pace, not backing off

    function attempt() {
      timer = null;
      let greeted = false;
      const openedAt = Date.now();
      let ended = false; // this attempt is over: events of its socket that come later are not news
      const probe = setTimeout(() => { if (!greeted) { const c = channel; onDown(); if (c) c.close(); } }, PROBE_TIMEOUT);
      const onMessage = (data) => {
        let msg;
        if (ended) return;
        try { msg = JSON.parse(data); } catch { return; }
        if (!msg || typeof msg.type !== "string" || msg.type === "ping" || msg.type === "log" || msg.type === "down") return;
        if (msg.type === "restart") { restartUntil = Date.now() + RESTART_WINDOW; return; }
        if (msg.type === "hello") {
          greeted = true;
          downSince = null;
          restartUntil = 0;
          clearTimeout(probe);
          wsRefused = 0;
          if (transport !== CONFIG.transport && !announcedFallback) {
            announcedFallback = true;
            emit({ type: "log", level: "warn", text: "WebSocket refused while HTTP works; using server-sent events." });
          }
        }
        emit(msg);
      };
      const onDown = (code) => {
        if (ended || stopped) return;
        ended = true;
        channel = null;
        if (downSince === null) downSince = Date.now();
        clearTimeout(probe);
        if (!greeted) {
          failures += 1;
          // 1012: a server that is stopping turned us away, which says nothing about proxies
          if (transport === "ws" && code !== 1012 && code !== undefined) wsRefused += 1;
        } else {
          // greeted, then dropped at once: a server shutting down (uvicorn --reload), so keep backing off
          if (Date.now() - openedAt < STABLE_MS) failures += 1;
          else { failures = 0; lastAnnounced = null; }
          if (transport !== CONFIG.transport && CONFIG.transport === "ws") transport = "ws"; // a fallback lasts one connection
        }
        emit({ type: "down" });
        if (transport === "ws" && wsRefused >= 2) {
          // websockets keep failing: if plain HTTP answers, a proxy is blocking them, so use SSE
          fetch(scriptUrl, { method: "HEAD", cache: "no-store", signal: AbortSignal.timeout(PROBE_TIMEOUT) })
            .then((r) => { if (r.ok) { transport = "sse"; wsRefused = 0; } })
            .catch(() => {})
            .finally(schedule);
        } else {
          if (transport === "sse" && CONFIG.transport === "ws" && !greeted) transport = "ws";
          schedule();
        }
      };
      channel = { close() {} };
      try {
        if (transport === "ws") {
          const ws = new WebSocket(endpoint(scriptUrl, "ws"));
          ws.onmessage = (e) => onMessage(e.data);
          ws.onclose = (e) => onDown(e.code);
          channel = { close: () => ws.close(1000) };
        } else {
          const es = new EventSource(endpoint(scriptUrl, "sse"));
          es.onmessage = (e) => onMessage(e.data);
          es.onerror = () => { es.close(); onDown(); };
          channel = { close: () => es.close() };
        }
      } catch {
        onDown(); // refused outright (a CSP connect-src, say): retry on the usual schedule
      }
    }

    function delay() {
      const cap = CONFIG.reconnectInterval * 1000;
      if (isQuiet()) return cap; // hidden tabs only: no hurry
      const backoff = Math.min(cap, FAST_RETRIES[failures] ?? cap);
      return Date.now() < restartUntil ? Math.min(backoff, RESTART_RETRY) : backoff;
    }

    function schedule() {
      if (timer !== null) return;
      const ms = delay();
      const seconds = Math.round(ms) / 1000;
      // say it once the outage is real, and once more when the delay settles: never once per attempt
      const settled = ms >= CONFIG.reconnectInterval * 1000;
      const long = downSince !== null && Date.now() - downSince >= ANNOUNCE_AFTER;
      if (failures > 0 && (ms >= ANNOUNCE_FROM || settled || long) && (lastAnnounced === null || (settled && seconds !== lastAnnounced))) {
        lastAnnounced = seconds;
        emit({ type: "log", level: "info", text: CONFIG.reconnectMessage.split("${reconnectInterval}").join(String(seconds)) });
      }
      timer = setTimeout(attempt, ms);
    }

    attempt();
    return {
      close() { stopped = true; if (timer !== null) clearTimeout(timer); timer = null; const c = channel; channel = null; if (c) c.close(); },
      wake() { if (timer !== null) { clearTimeout(timer); timer = null; attempt(); } },
    };
  }

  return { open };
})();
