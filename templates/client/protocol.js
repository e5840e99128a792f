// ---- protocol: the messages the server sends, and how a client catches up on what it missed ----
// The server's side is fast_hot_reload/_protocol.py; tests/_support/merge_cases.json holds the cases both run.
const Protocol = (() => {
  const KINDS = new Set(["hello", "css", "reload", "error", "server-log", "restart", "ping"]);
  const CHANGES = new Set(["css", "reload"]); // the versioned kinds: a file changed
  const MAX_PATHS = 50; // paths one event carries (as the server cuts them)
  const KEPT = 64; // events a kept hello holds, for a tab that says hi later

  // one message off the wire: an object of a kind the server sends, else null (garbage, or not from the server)
  function parse(data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return null; }
    return msg && typeof msg === "object" && KINDS.has(msg.type) ? msg : null;
  }

  const isChange = (msg) => CHANGES.has(msg.type) && typeof msg.version === "number";

  // the one event that brings a client at `version` to `newest` from the events it missed (oldest first):
  // stylesheets alone stay css, anything else reloads naming every path; a gap in the history names none
  function catchUp(missed, version, newest) {
    if (!(version < newest)) return null;
    const events = (Array.isArray(missed) ? missed : []).filter((e) => e.version > version);
    const complete = events.length > 0 && events[0].version === version + 1;
    const type = complete && events.every((e) => e.type === "css") ? "css" : "reload";
    const paths = complete ? [...new Set(events.flatMap((e) => e.paths || []))] : [];
    const truncated = complete && (paths.length > MAX_PATHS || events.some((e) => !!e.truncated));
    return { version: newest, type, paths: paths.slice(0, MAX_PATHS), truncated };
  }

  // the last hello with every change since folded into its recent list: what a tab that joins later is sent
  function keepHello(hello, msg) {
    if (msg.type === "hello") return { ...msg, recent: Array.isArray(msg.recent) ? [...msg.recent] : [] };
    if (!hello || !isChange(msg) || msg.boot !== hello.boot) return hello;
    return { ...hello, version: msg.version, recent: [...hello.recent, msg].slice(-KEPT) };
  }

  return { parse, isChange, catchUp, keepHello };
})();
