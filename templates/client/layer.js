// ---- layer: our elements in the browser's top layer, above the page's own modal dialogs ----
const Layer = (() => {
  // the topmost open modal <dialog>: everything outside it is inert (no clicks), so ours goes inside it
  function openModal() {
    let open = [];
    try { open = [...document.querySelectorAll("dialog:modal")]; } catch { /* a browser without :modal */ }
    return open.length ? open[open.length - 1] : null;
  }

  function raise(el) {
    if (typeof el.showPopover !== "function") return; // no popover API: z-index alone
    try {
      el.popover = "manual";
      if (!el.matches(":popover-open")) el.showPopover();
    } catch { /* not connected, or a page that refuses */ }
  }

  // outside <body> (a body swap or morph leaves it alone), or in the open modal dialog until it closes
  function mount(el) {
    const dialog = openModal();
    (dialog || document.documentElement).append(el);
    raise(el);
    if (!dialog) return;
    dialog.addEventListener("close", () => {
      if (el.parentNode !== dialog) return;
      document.documentElement.append(el); // a closed dialog hides what is in it, top layer or not
      raise(el);
    }, { once: true });
  }

  return { mount };
})();
