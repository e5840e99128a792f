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

  // on: {message(msg)} for the server's messages; {down()} and {log(level, text)} for what the connection has to say
  function open(scriptUrl, on, isQuiet) {
    const link = {
      scriptUrl, on, isQuiet,
      transport: CONFIG.transport,
      failures: 0, // attempts in a row that never reached the server
      wsRefused: 0, // websocket attempts in a row that failed before opening
      announcedFallback: false,
      lastAnnounced: null, // the retry delay last said in the console
      downSince: null, // when the server was last heard of, while it is not
      restartUntil: 0, // the server said it is stopping: until then, retry at a steady pace, not backing off
      channel: null,
      timer: null,
      stopped: false, // closed for good: the tab is going away
    };
    attempt(link);
    return { close: () => close(link), wake: () => wake(link) };
  }

  function close(link) {
    link.stopped = true;
    if (link.timer !== null) clearTimeout(link.timer);
    link.timer = null;
    const channel = link.channel;
    link.channel = null;
    if (channel) channel.close();
  }

  function wake(link) {
    if (link.timer === null) return;
    clearTimeout(link.timer);
    attempt(link);
  }

  // ---- one attempt: a socket or stream, until it drops ----
  function attempt(link) {
    link.timer = null;
    // ended: this attempt is over, so events of its socket that come later are not news
    const current = { greeted: false, openedAt: Date.now(), ended: false, probe: null };
    current.probe = setTimeout(() => giveUp(link, current), PROBE_TIMEOUT);
    link.channel = { close() {} };
    try {
      link.channel = connect(link, current);
    } catch {
      dropped(link, current); // refused outright (a CSP connect-src, say): retry on the usual schedule
    }
  }

  function connect(link, current) {
    if (link.transport === "ws") {
      const ws = new WebSocket(endpoint(link.scriptUrl, "ws"));
      ws.onmessage = (e) => received(link, current, e.data);
      ws.onclose = (e) => dropped(link, current, e.code);
      return { close: () => ws.close(1000) };
    }
    const es = new EventSource(endpoint(link.scriptUrl, "sse"));
    es.onmessage = (e) => received(link, current, e.data);
    es.onerror = () => { es.close(); dropped(link, current); };
    return { close: () => es.close() };
  }

  function giveUp(link, current) {
    if (current.greeted) return;
    const channel = link.channel;
    dropped(link, current);
    if (channel) channel.close();
  }

  function received(link, current, data) {
    if (current.ended) return;
    const msg = Protocol.parse(data);
    if (!msg || msg.type === "ping") return;
    if (msg.type === "restart") { link.restartUntil = Date.now() + RESTART_WINDOW; return; }
    if (msg.type === "hello") greeted(link, current);
    link.on.message(msg);
  }

  function greeted(link, current) {
    current.greeted = true;
    clearTimeout(current.probe);
    link.downSince = null;
    link.restartUntil = 0;
    link.wsRefused = 0;
    if (link.transport !== CONFIG.transport && !link.announcedFallback) {
      link.announcedFallback = true;
      link.on.log("warn", "WebSocket refused while HTTP works; using server-sent events.");
    }
  }

  function dropped(link, current, code) {
    if (current.ended || link.stopped) return;
    current.ended = true;
    clearTimeout(current.probe);
    link.channel = null;
    if (link.downSince === null) link.downSince = Date.now();
    countFailure(link, current, code);
    link.on.down();
    if (link.transport === "ws" && link.wsRefused >= 2) { fallBackIfHttpWorks(link); return; }
    if (link.transport === "sse" && CONFIG.transport === "ws" && !current.greeted) link.transport = "ws";
    schedule(link);
  }

  function countFailure(link, current, code) {
    if (!current.greeted) {
      link.failures += 1;
      // 1012: a server that is stopping turned us away, which says nothing about proxies
      if (link.transport === "ws" && code !== 1012 && code !== undefined) link.wsRefused += 1;
      return;
    }
    // greeted, then dropped at once: a server shutting down (uvicorn --reload), so keep backing off
    if (Date.now() - current.openedAt < STABLE_MS) link.failures += 1;
    else { link.failures = 0; link.lastAnnounced = null; }
    if (link.transport !== CONFIG.transport && CONFIG.transport === "ws") link.transport = "ws"; // a fallback lasts one connection
  }

  // websockets keep failing: if plain HTTP answers, a proxy is blocking them, so use SSE
  function fallBackIfHttpWorks(link) {
    fetch(link.scriptUrl, { method: "HEAD", cache: "no-store", signal: AbortSignal.timeout(PROBE_TIMEOUT) })
      .then((r) => { if (r.ok) { link.transport = "sse"; link.wsRefused = 0; } })
      .catch(() => {})
      .finally(() => schedule(link));
  }

  // ---- the next attempt: when, and what the console hears of it ----
  function delay(link) {
    const cap = CONFIG.reconnectInterval * 1000;
    if (link.isQuiet()) return cap; // hidden tabs only: no hurry
    const backoff = Math.min(cap, FAST_RETRIES[link.failures] ?? cap);
    return Date.now() < link.restartUntil ? Math.min(backoff, RESTART_RETRY) : backoff;
  }

  function schedule(link) {
    if (link.timer !== null || link.stopped) return;
    const ms = delay(link);
    announce(link, ms);
    link.timer = setTimeout(() => attempt(link), ms);
  }

  // say it once the outage is real, and once more when the delay settles: never once per attempt
  function announce(link, ms) {
    const seconds = Math.round(ms) / 1000;
    const settled = ms >= CONFIG.reconnectInterval * 1000;
    const long = link.downSince !== null && Date.now() - link.downSince >= ANNOUNCE_AFTER;
    if (link.failures === 0 || !(ms >= ANNOUNCE_FROM || settled || long)) return;
    if (link.lastAnnounced !== null && !(settled && seconds !== link.lastAnnounced)) return;
    link.lastAnnounced = seconds;
    link.on.log("info", CONFIG.reconnectMessage.split("${reconnectInterval}").join(String(seconds)));
  }

  return { open };
})();
