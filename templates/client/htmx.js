// ---- htmx: what the page's htmx loaded since, and wiring up what a morph brought in ----
const Htmx = (() => {
  const TEMPLATES_HEADER = "X-Hot-Reload-Templates"; // the templates a fragment's response rendered

  // each htmx response that names its templates: `found(paths)`
  function watchFragments(found) {
    document.addEventListener("htmx:afterRequest", (e) => {
      const xhr = e.detail && e.detail.xhr;
      const raw = xhr && typeof xhr.getResponseHeader === "function" ? xhr.getResponseHeader(TEMPLATES_HEADER) : null;
      if (!raw) return;
      let paths;
      try { paths = JSON.parse(raw); } catch { return; } // not ours
      if (Array.isArray(paths)) found(paths);
    });
  }

  // htmx wires up attributes it finds at load: new or changed nodes need the same; Alpine watches by itself
  function process(nodes) {
    if (!window.htmx || typeof window.htmx.process !== "function") return;
    for (const node of nodes || []) { try { window.htmx.process(node); } catch { /* not htmx's to take */ } }
  }

  return { watchFragments, process };
})();
