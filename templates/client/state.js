// ---- state: what the user has, kept across a full reload (sessionStorage) ----
const State = (() => {
  const KEY = "fast-hot-reload:state";
  const MAX_AGE = 15000; // ms: an older snapshot is from another visit, not from our reload
  const SCROLL_WAIT = 3000; // ms a late-growing page (htmx, scripts) gets to reach the saved scroll
  const LATE_WAIT = 5000; // ms fields and focus wait for elements that late content (htmx, scripts) brings
  const FIELDS = "input, textarea, select";
  const UNKEPT = new Set(["password", "file", "hidden", "submit", "button", "reset", "image"]);

  // ---- element identity: #id, else form + name, else a tag:nth-of-type path from an id ----
  function idCounts() {
    const counts = new Map();
    for (const el of document.querySelectorAll("[id]")) counts.set(el.id, (counts.get(el.id) || 0) + 1);
    return counts;
  }

  function keyOf(el, ids) {
    if (el.id && ids.get(el.id) === 1) return ["#", el.id];
    const name = el.matches(FIELDS) && el.getAttribute("name");
    if (!name) return ["p", ...pathOf(el, ids)];
    const form = el.form ? keyOf(el.form, ids) : null;
    if (el.type === "radio") return ["r", form, name, el.value];
    return ["n", form, name, namedFields(el.form, name).indexOf(el)];
  }

  function pathOf(el, ids) {
    const steps = [];
    while (el.parentElement && !(el.id && ids.get(el.id) === 1)) {
      const index = [...el.parentElement.children].filter((c) => c.tagName === el.tagName).indexOf(el);
      steps.unshift([el.tagName, index]);
      el = el.parentElement;
    }
    return [el.parentElement ? el.id : null, steps];
  }

  function namedFields(form, name) {
    const all = form ? [...form.elements] : [...document.getElementsByName(name)].filter((f) => !f.form);
    return all.filter((f) => f.matches(FIELDS) && f.getAttribute("name") === name);
  }

  function find(key) {
    if (!Array.isArray(key)) return null;
    if (key[0] === "#") return document.getElementById(key[1]);
    if (key[0] === "p") return walk(key[1] ? document.getElementById(key[1]) : document.documentElement, key[2]);
    const form = key[1] ? find(key[1]) : null;
    if (key[1] && !(form instanceof HTMLFormElement)) return null;
    const named = namedFields(form, key[2]);
    return (key[0] === "r" ? named.find((f) => f.value === key[3]) : named[key[3]]) || null;
  }

  function walk(el, steps) {
    for (const [tag, index] of steps) {
      if (!el) return null;
      el = [...el.children].filter((c) => c.tagName === tag)[index];
    }
    return el || null;
  }

  // ---- fields: a value and the default the markup gave it, so a changed field keeps the new default ----
  const isCheckable = (el) => el.type === "checkbox" || el.type === "radio";
  const kept = (el) => !el.closest("[data-fhr-nostate]");
  const digest = (value) => {
    let hash = 5381; // djb2: the snapshot keeps only a fingerprint of each (maybe long) default
    for (const ch of JSON.stringify(value)) hash = (hash * 33 + ch.charCodeAt(0)) | 0;
    return hash;
  };

  function selected(select, flag) {
    const values = [...select.options].filter((o) => o[flag]).map((o) => o.value);
    // with nothing marked selected, a drop-down shows its first option
    if (flag === "defaultSelected" && !values.length && !select.multiple && select.size <= 1 && select.options.length)
      values.push(select.options[0].value);
    return values;
  }

  function readField(el) {
    if (isCheckable(el)) return [el.checked, el.defaultChecked];
    if (el.tagName === "SELECT") return [selected(el, "selected"), selected(el, "defaultSelected")];
    return [el.value, el.defaultValue];
  }

  function writeField(el, value) {
    if (isCheckable(el)) el.checked = value;
    else if (el.tagName === "SELECT") for (const o of el.options) o.selected = value.includes(o.value);
    else el.value = value;
  }

  function saveFields(ids) {
    const fields = [];
    for (const el of document.querySelectorAll(FIELDS)) {
      if (UNKEPT.has(el.type) || !kept(el)) continue;
      const [value, initial] = readField(el);
      if (JSON.stringify(value) !== JSON.stringify(initial)) fields.push([keyOf(el, ids), value, digest(initial)]);
    }
    return fields;
  }

  // true once the field is on the page (filled or not); `late`: it came after load, maybe typed in since
  function restoreField([key, value, initial], late) {
    const el = find(key);
    if (!el) return false;
    if (!el.matches(FIELDS) || UNKEPT.has(el.type)) return true;
    const [shown, now] = readField(el);
    if (late && JSON.stringify(shown) !== JSON.stringify(now)) return true; // the user (or a script) was first
    // the server changed this field's own markup: its new default wins (also over the browser's own restore)
    writeField(el, digest(now) === initial ? value : now);
    return true;
  }

  // ---- focus, text selection, details, dialogs ----
  function saveFocus(ids) {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement || !kept(el)) return null;
    // selectionStart is null on fields without a text selection (checkbox, email, number)
    const hasRange = typeof el.selectionStart === "number";
    return [keyOf(el, ids), hasRange ? [el.selectionStart, el.selectionEnd, el.selectionDirection] : null];
  }

  function restoreFocus([key, range]) {
    const el = find(key);
    if (!el) return false;
    el.focus({ preventScroll: true }); // the scroll is restored on its own
    if (range) try { el.setSelectionRange(...range); } catch { /* no text selection on this kind of field */ }
    return true;
  }

  function restoreDetails([key, open]) {
    const el = find(key);
    if (el instanceof HTMLDetailsElement) el.open = open;
    return !!el;
  }

  // a browser without :modal (old ones) gets dialogs back non-modal
  const isModal = (dialog) => { try { return dialog.matches(":modal"); } catch { return false; } };

  function restoreDialog([key, mode]) {
    const el = find(key);
    if (!(el instanceof HTMLDialogElement) || (el.open && isModal(el) === (mode === "modal"))) return !!el;
    try {
      if (el.open) el.close();
      if (mode === "modal") el.showModal(); else el.show();
    } catch { /* a dialog that cannot open here stays as the new page has it */ }
    return true;
  }

  // ---- scroll: the window and scrolled containers, retried while a late page grows ----
  function saveScroll(ids) {
    const root = document.scrollingElement || document.documentElement;
    const spots = root.scrollTop || root.scrollLeft ? [[null, root.scrollLeft, root.scrollTop]] : [];
    for (const el of document.body ? document.body.querySelectorAll("*") : []) {
      if (el === root || !(el.scrollTop || el.scrollLeft) || !kept(el)) continue;
      spots.push([keyOf(el, ids), el.scrollLeft, el.scrollTop]);
    }
    return spots;
  }

  function scrollTo([key, left, top]) {
    const el = key ? find(key) : document.scrollingElement || document.documentElement;
    if (el) el.scrollTo({ left, top, behavior: "instant" }); // a container not on the page yet may come later
  }

  function restoreScroll(spots, wait) {
    // held, not just reached: content a script adds above later (htmx), or the browser's own restore at load
    // (placed for the page as it was then), would otherwise move the view; until the user scrolls or types
    Late.watch(() => { for (const spot of spots) scrollTo(spot); return true; }, () => false, wait);
  }

  // ---- what is not on the page yet: kept, and restored when late content (htmx, a script) brings it ----
  function restoreLate(pending, wait) {
    const look = () => {
      for (const item of [...pending]) if (tryOne(item, true)) pending.splice(pending.indexOf(item), 1);
      return pending.length > 0;
    };
    // the user clicked or typed somewhere: the focus stays where they put it; fields still come back
    const user = (type) => {
      if (type !== "wheel") pending = pending.filter(([restoreOne]) => restoreOne !== restoreFocus);
      return pending.length > 0;
    };
    Late.watch(look, user, wait);
  }

  // ---- the snapshot ----
  function save() {
    try {
      const ids = idCounts();
      const details = [...document.querySelectorAll("details")].filter(kept).map((d) => [keyOf(d, ids), d.open]);
      const dialogs = [...document.querySelectorAll("dialog[open]")].filter(kept)
        .map((d) => [keyOf(d, ids), isModal(d) ? "modal" : "open"]);
      const snapshot = { url: location.href, time: Date.now(), fields: saveFields(ids), details, dialogs,
        focus: saveFocus(ids), scroll: saveScroll(ids) };
      sessionStorage.setItem(KEY, JSON.stringify(snapshot));
    } catch { /* no storage, over quota, an odd document: reload without a snapshot */ }
  }

  function take(maxAge) {
    try {
      const snapshot = JSON.parse(sessionStorage.getItem(KEY) || "null");
      sessionStorage.removeItem(KEY); // once only, whatever it was
      const age = snapshot ? Date.now() - snapshot.time : -1;
      return snapshot && snapshot.url === location.href && age >= 0 && age < maxAge ? snapshot : null;
    } catch { return null; }
  }

  const listOf = (list) => (Array.isArray(list) ? list : []);

  // true when done with: restored, or an entry this page cannot take
  function tryOne([restoreOne, entry], late) {
    try { return restoreOne(entry, late); } catch { return true; }
  }

  function apply(snapshot, waits) {
    const items = [
      ...listOf(snapshot.fields).map((f) => [restoreField, f]),
      ...listOf(snapshot.details).map((d) => [restoreDetails, d]),
      ...listOf(snapshot.dialogs).map((d) => [restoreDialog, d]), // before focus: a modal moves focus into itself
      ...(snapshot.focus ? [[restoreFocus, snapshot.focus]] : []),
    ];
    const pending = items.filter((item) => !tryOne(item, false));
    if (pending.length) try { restoreLate(pending, waits.late); } catch { /* no observers here: what is, is */ }
    const spots = listOf(snapshot.scroll);
    if (spots.length) try { restoreScroll(spots, waits.scroll); } catch { /* no observers here: keep the top */ }
  }

  function restore(options) {
    const { maxAge = MAX_AGE, scrollWait = SCROLL_WAIT, lateWait = LATE_WAIT } = options || {};
    const snapshot = take(maxAge);
    if (!snapshot) return false;
    const run = () => apply(snapshot, { scroll: scrollWait, late: lateWait });
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run, { once: true });
    else run();
    return true;
  }

  return { save, restore };
})();
