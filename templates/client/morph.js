// ---- morph: apply what the template changed to the live page (three-way), our own code ----
const Morph = (() => {
  const ELEMENT = 1;
  const PERMANENT = "data-fhr-permanent";
  const SCORED_LIMIT = 250000; // alignment cells: a longer changed middle is paired greedily instead
  const GREEDY_WINDOW = 64; // siblings looked ahead per node when pairing greedily

  const isPermanent = (node) => node.nodeType === ELEMENT && node.hasAttribute(PERMANENT);
  const keyOf = (node) => (node.nodeType === ELEMENT ? node.nodeName + "#" + node.id : "#" + node.nodeType);
  const tokens = (text) => new Set((text || "").split(/\s+/).filter(Boolean));
  function kids(job, parent) {
    const list = [];
    for (let node = parent.firstChild; node; node = node.nextSibling) if (!job.skip(node)) list.push(node);
    return list;
  }
  const hasTemplate = (node) => node.nodeType === ELEMENT && !!node.querySelector("template");

  function note(job, element, count = 1) {
    job.changed += count;
    if (element && element.nodeType === ELEMENT) job.touched.add(element);
  }

  // Remembered per pair: aligning a level compares the pairs its merge then asks about again.
  // isEqualNode does not look into <template> contents, the serialization does.
  function same(job, a, b) {
    const known = job.same.get(a);
    if (known && known.other === b) return known.equal;
    const equal = a.isEqualNode(b) && (!job.templates || a.nodeType !== ELEMENT || a.outerHTML === b.outerHTML);
    job.same.set(a, { other: b, equal });
    return equal;
  }

  // For each of ys, the index of its partner in xs or -1: equal ends first, then ids, then the changed middle
  function align(job, xs, ys) {
    const pair = new Int32Array(ys.length).fill(-1);
    let start = 0;
    let xEnd = xs.length;
    let yEnd = ys.length;
    while (start < xEnd && start < yEnd && same(job, xs[start], ys[start])) pair[start] = start++;
    while (start < xEnd && start < yEnd && same(job, xs[xEnd - 1], ys[yEnd - 1])) pair[--yEnd] = --xEnd;
    const byId = new Map();
    const xRest = [];
    const yRest = [];
    for (let i = start; i < xEnd; i++) {
      if (xs[i].id) byId.set(keyOf(xs[i]), i);
      else xRest.push(i);
    }
    for (let j = start; j < yEnd; j++) {
      const i = ys[j].id ? byId.get(keyOf(ys[j])) : undefined;
      if (i !== undefined) { pair[j] = i; byId.delete(keyOf(ys[j])); }
      else if (!ys[j].id) yRest.push(j);
    }
    if (xRest.length === 1 && yRest.length === 1) { // the usual middle: the one node that changed
      if (keyOf(xs[xRest[0]]) === keyOf(ys[yRest[0]])) pair[yRest[0]] = xRest[0];
    } else if (xRest.length && yRest.length) {
      (xRest.length * yRest.length > SCORED_LIMIT ? pairGreedily : pairByScore)(xs, ys, xRest, yRest, pair);
    }
    return pair;
  }

  // Weighted longest common subsequence over nodes of one kind: an equal node scores its size (keeping an
  // intact item beats shifting its neighbours), one of equal text 2, any other 1
  function pairByScore(xs, ys, xRest, yRest, pair) {
    const ids = new Map();
    const intern = (text) => {
      if (!ids.has(text)) ids.set(text, ids.size);
      return ids.get(text);
    };
    const facts = (node) => {
      const markup = node.nodeType === ELEMENT ? node.outerHTML : node.nodeValue;
      return [intern(keyOf(node)), intern(markup), intern(node.textContent), 2 + Math.min(markup.length, 100000)];
    };
    const xf = xRest.map((i) => facts(xs[i]));
    const yf = yRest.map((j) => facts(ys[j]));
    const score = (a, b) => (a[0] !== b[0] ? 0 : a[1] === b[1] ? a[3] : a[2] === b[2] ? 2 : 1);
    const width = yf.length + 1;
    const best = new Int32Array((xf.length + 1) * width);
    for (let a = 1; a <= xf.length; a++) {
      for (let b = 1; b <= yf.length; b++) {
        const s = score(xf[a - 1], yf[b - 1]);
        const diagonal = s ? best[(a - 1) * width + b - 1] + s : 0;
        best[a * width + b] = Math.max(best[(a - 1) * width + b], best[a * width + b - 1], diagonal);
      }
    }
    for (let a = xf.length, b = yf.length; a > 0 && b > 0;) {
      const s = score(xf[a - 1], yf[b - 1]);
      if (s && best[a * width + b] === best[(a - 1) * width + b - 1] + s) pair[yRest[--b]] = xRest[--a];
      else if (best[a * width + b] === best[(a - 1) * width + b]) a--;
      else b--;
    }
  }

  function pairGreedily(xs, ys, xRest, yRest, pair) {
    let from = 0;
    for (const j of yRest) {
      const key = keyOf(ys[j]);
      for (let k = from; k < xRest.length && k < from + GREEDY_WINDOW; k++) {
        if (keyOf(xs[xRest[k]]) === key) { pair[j] = xRest[k]; from = k + 1; break; }
      }
    }
  }

  function mergeNode(job, live, base, next) {
    if (isPermanent(live) || same(job, base, next)) return;
    if (live.nodeType !== ELEMENT) {
      if (live.nodeValue !== next.nodeValue) { live.nodeValue = next.nodeValue; note(job, live.parentNode); }
      return;
    }
    mergeAttributes(job, live, base, next);
    const tag = live.localName;
    if (tag === "textarea") return mergeTextarea(job, live, base, next);
    if (tag === "template") mergeChildren(job, live.content, base.content, next.content);
    else mergeChildren(job, live, base, next);
    if (tag === "input") mergeInput(job, live, base, next);
    if (tag === "select") mergeSelect(job, live, base, next);
  }

  // Only attributes the template changed move; those scripts set on LIVE stay
  function mergeAttributes(job, live, base, next) {
    for (const attr of next.attributes) {
      const was = base.getAttributeNS(attr.namespaceURI, attr.localName);
      if (was === attr.value) continue;
      if (attr.name === "class") mergeClass(job, live, was, attr.value);
      else if (live.getAttributeNS(attr.namespaceURI, attr.localName) !== attr.value) {
        live.setAttributeNodeNS(live.ownerDocument.importNode(attr, false)); // also takes names like @click
        note(job, live);
      }
    }
    for (const attr of base.attributes) {
      if (next.hasAttributeNS(attr.namespaceURI, attr.localName)) continue;
      if (attr.name === "class") mergeClass(job, live, attr.value, null);
      else if (live.hasAttributeNS(attr.namespaceURI, attr.localName)) {
        live.removeAttributeNS(attr.namespaceURI, attr.localName);
        note(job, live);
      }
    }
  }

  function mergeClass(job, live, was, now) {
    const before = tokens(was);
    const after = tokens(now);
    const old = live.getAttribute("class");
    for (const token of before) if (!after.has(token)) live.classList.remove(token);
    for (const token of after) if (!before.has(token)) live.classList.add(token);
    const mine = tokens(live.getAttribute("class"));
    if (mine.size === after.size && [...mine].every((token) => after.has(token))) { // NEXT's tokens: its spelling too
      if (now === null) live.removeAttribute("class");
      else live.setAttribute("class", now);
    }
    if (live.getAttribute("class") !== old) note(job, live);
  }

  // A dirty field ignores its markup: when the server changed that markup, the property follows it
  function mergeInput(job, live, base, next) {
    const value = next.getAttribute("value");
    if (base.getAttribute("value") !== value && live.type !== "file") { live.value = value ?? ""; note(job, live); }
    const checked = next.hasAttribute("checked");
    if (base.hasAttribute("checked") !== checked) { live.checked = checked; note(job, live); }
  }

  function mergeTextarea(job, live, base, next) {
    if (base.textContent === next.textContent) return;
    live.textContent = next.textContent;
    live.value = live.defaultValue;
    note(job, live, 2);
  }

  function mergeSelect(job, live, base, next) {
    const optionSet = (select) => Array.from(select.options, (o) => [o.value, o.text, o.defaultSelected].join("\t"));
    if (optionSet(base).join("\n") === optionSet(next).join("\n")) return; // the user's choice stands
    const wanted = Array.from(next.options, (option) => option.selected);
    const options = Array.from(live.options);
    const follows = options.length === wanted.length;
    options.forEach((option, k) => { option.selected = follows ? wanted[k] : option.defaultSelected; });
    note(job, live);
  }

  function mergeChildren(job, live, base, next) {
    const bs = kids(job, base);
    const ns = kids(job, next);
    const ls = kids(job, live);
    const fromBase = align(job, bs, ns);
    const inLive = align(job, ls, bs);
    const kept = new Uint8Array(bs.length);
    const order = [];
    const fresh = [];
    for (let j = 0; j < ns.length; j++) {
      const i = fromBase[j];
      if (i < 0) {
        fresh.push(live.ownerDocument.importNode(ns[j], true));
        order.push(fresh[fresh.length - 1]);
        continue;
      }
      kept[i] = 1;
      if (inLive[i] < 0) { if (!same(job, bs[i], ns[j])) job.unplaced++; continue; } // a script removed it
      const node = ls[inLive[i]];
      mergeNode(job, node, bs[i], ns[j]);
      if (!isPermanent(node)) order.push(node);
    }
    const homes = [];
    for (let i = 0; i < bs.length; i++) if (!kept[i] && inLive[i] >= 0) drop(job, ls[inLive[i]], fresh, homes);
    place(job, live, order, new Set(fresh));
    for (const [permanent, spot] of homes) spot.replaceWith(permanent);
    for (const node of fresh) { job.fresh.push(node); note(job, node.nodeType === ELEMENT ? node : live); }
  }

  // Remove what NEXT dropped; permanent elements inside go to the new node of their id, or keep it all
  function drop(job, node, fresh, homes) {
    if (isPermanent(node)) return;
    const inside = node.nodeType === ELEMENT ? Array.from(node.querySelectorAll(`[${PERMANENT}]`)) : [];
    const outer = inside.filter((el) => !node.contains(el.parentElement.closest(`[${PERMANENT}]`)));
    const spots = outer.map((el) => el.id && findById(fresh, el.id));
    if (spots.some((spot) => !spot)) return;
    outer.forEach((el, k) => homes.push([el, spots[k]]));
    node.remove();
    note(job, null);
  }

  function findById(roots, id) {
    for (const root of roots) {
      const hit = root.nodeType !== ELEMENT ? null : root.id === id ? root : root.querySelector("#" + CSS.escape(id));
      if (hit) return hit;
    }
    return null;
  }

  // Put `order` into `parent` in that order; the longest run already in order stays, script-added nodes too
  function place(job, parent, order, fresh) {
    const position = new Map();
    for (const child of parent.childNodes) position.set(child, position.size);
    const stay = longestRun(order.filter((node) => !fresh.has(node)), position);
    const last = order.findLast((node) => stay.has(node));
    let anchor = last ? last.nextSibling : null; // new trailing nodes go right after it, before script-added ones
    for (let i = order.length - 1; i >= 0; i--) {
      if (!stay.has(order[i])) {
        parent.insertBefore(order[i], anchor);
        if (!fresh.has(order[i])) { job.moved.push(order[i]); note(job, null); }
      }
      anchor = order[i];
    }
  }

  function longestRun(nodes, position) {
    const tails = [];
    const previous = new Int32Array(nodes.length);
    for (let i = 0; i < nodes.length; i++) {
      const at = position.get(nodes[i]);
      let low = 0;
      let high = tails.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (position.get(nodes[tails[mid]]) < at) low = mid + 1;
        else high = mid;
      }
      previous[i] = low > 0 ? tails[low - 1] : -1;
      tails[low] = i;
    }
    const run = new Set();
    for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = previous[i]) run.add(nodes[i]);
    return run;
  }

  function saveFocus(root) {
    const doc = root.ownerDocument;
    const s = doc.getSelection(); // a caret needs nothing; a selected range is put back if we move its nodes
    const range = s && s.type === "Range" ? [s.anchorNode, s.anchorOffset, s.focusNode, s.focusOffset] : null;
    const el = doc.activeElement;
    if (!el || el === doc.body || el === root || !root.contains(el)) return { el: null, range };
    const path = [];
    for (let node = el; node !== root; node = node.parentElement) {
      path.unshift(Array.prototype.indexOf.call(node.parentElement.children, node));
    }
    const hasText = typeof el.selectionStart === "number";
    const field = hasText ? [el.selectionStart, el.selectionEnd, el.selectionDirection] : null;
    return { el, id: el.id, path, field, range };
  }

  function restoreFocus(job, root, saved) {
    const doc = root.ownerDocument;
    let el = saved.el;
    if (el && !el.isConnected) { // replaced: focus its new node (same id, else same place) if we inserted one
      const atPath = saved.path.reduce((node, k) => node && node.children[k], root);
      const spot = (el.id && doc.getElementById(el.id)) || atPath;
      el = spot && job.fresh.some((node) => node.contains(spot)) ? spot : null;
    }
    if (el && doc.activeElement !== el) {
      el.focus({ preventScroll: true });
      if (saved.field) try { el.setSelectionRange(...saved.field); } catch { /* a type without a text selection */ }
    }
    // only a move loses a selection, and the Selection API makes the browser lay the page out: ask it no more
    const [anchor, , focus] = saved.range || [];
    if (saved.field || !anchor || !anchor.isConnected || !focus.isConnected) return;
    if (!job.moved.some((node) => node.contains(anchor) || node.contains(focus))) return;
    try { doc.getSelection().setBaseAndExtent(...saved.range); } catch { /* its text got shorter */ }
  }

  function topMost(root, touched) {
    const under = (el) => {
      for (let node = el.parentNode; node; node = node.parentNode) if (touched.has(node)) return true;
      return false;
    };
    return [...touched].filter((el) => root.contains(el) && !under(el));
  }

  // Apply BASE->NEXT to LIVE (LIVE->NEXT when base is null): { changed, unplaced, touched }
  function merge(live, base, next, options = {}) {
    const skip = options.skip || (() => false);
    const job = { skip, changed: 0, unplaced: 0, touched: new Set(), fresh: [], moved: [], same: new Map() };
    if (live.nodeName !== next.nodeName) return { changed: 0, unplaced: 1, touched: [] };
    const from = base || live.cloneNode(true); // two-way: BASE is LIVE as it is now
    job.templates = hasTemplate(from) || hasTemplate(next);
    const focus = saveFocus(live);
    mergeNode(job, live, from, next);
    restoreFocus(job, live, focus);
    return { changed: job.changed, unplaced: job.unplaced, touched: topMost(live, job.touched) };
  }

  return { merge };
})();
