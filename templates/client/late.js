// ---- late: content a page adds after it loaded (htmx, scripts, images), watched up to a deadline ----
const Late = (() => {
  const USER_INPUT = ["wheel", "touchstart", "pointerdown", "keydown"];
  // besides nodes and sizes: the page or an image loading, a scroll (the browser's own restore, a script);
  // captured, as images' and boxes' events do not bubble (images' never reach window). A function: the same
  // script runs in the SharedWorker, which has no window
  const events = () => [[window, "load"], [document, "load"], [window, "scroll"]];

  // a caller's function that throws is done: nothing of it may break the page's own observers and events
  const ask = (question) => { try { return question(); } catch { return false; } };

  // calls look() after each such change until it returns false, `wait` ms pass, or the user acts and
  // user(type) returns false; returns a function that stops it
  function watch(look, user, wait) {
    let live = true;
    const step = () => { if (live && !ask(look)) stop(); };
    const acted = (event) => { if (live && !ask(() => user(event.type))) stop(); };
    const grown = new ResizeObserver(step);
    const changed = new MutationObserver(step);
    const timer = setTimeout(() => stop(), wait);
    function stop() {
      live = false;
      grown.disconnect();
      changed.disconnect();
      clearTimeout(timer);
      for (const [target, type] of events()) target.removeEventListener(type, step, true);
      for (const type of USER_INPUT) removeEventListener(type, acted, true);
    }
    grown.observe(document.documentElement);
    if (document.body) grown.observe(document.body);
    changed.observe(document.documentElement, { childList: true, subtree: true, attributes: true });
    for (const [target, type] of events()) target.addEventListener(type, step, { capture: true, passive: true });
    for (const type of USER_INPUT) addEventListener(type, acted, { capture: true, passive: true });
    step();
    return stop;
  }

  return { watch };
})();
