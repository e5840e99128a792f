// ---- assets: stylesheets and images refreshed in place, under a cache-busting query ----
const Assets = (() => {
  const log = (text) => console.info(CONFIG.prefix + " " + text);
  const nameOf = (url) => url.pathname.split("/").pop();
  const namesOf = (paths) => new Set(paths.map((p) => p.split("/").pop()));

  function bust(href, version) {
    const url = new URL(href, location.href);
    url.searchParams.set("_fhr", String(version));
    return url.href;
  }

  // what a plan of Page's says: every stylesheet, the named ones, and images
  function refresh(plan, version) {
    if (plan.allStyles) swapStylesheets(null, version);
    else if (plan.styles.length) swapStylesheets(plan.styles, version);
    if (plan.images.length) refreshImages(plan.images, version);
  }

  // this origin's stylesheets the page links (not those already being replaced)
  function linkedStylesheets() {
    return [...document.querySelectorAll('link[rel~="stylesheet"][href]')]
      .filter((l) => !l.dataset.fhrStale && sameOrigin(l.href));
  }

  function sameOrigin(href) {
    try { return new URL(href, location.href).origin === location.origin; } catch { return false; }
  }

  // paths null: every stylesheet of this origin (more changed than an event can name)
  function swapStylesheets(paths, version) {
    const owners = paths ? ownersUsing(paths) : new Set(sheetOwners().map((found) => found.owner));
    if (!owners.size) { console.debug(CONFIG.prefix + " No stylesheet of this page uses " + paths.join(", ")); return; }
    for (const owner of owners) swapOne(owner, version);
    log("Stylesheet swapped: " + (paths ? paths.join(", ") : "all of them (many changed)"));
  }

  // each sheet this page uses (linked, or @imported at any depth) with the <link> or <style> that brings it in
  function sheetOwners() {
    const found = linkedStylesheets().map((link) => ({ owner: link, urls: [link.href, ...importedUrls(link.sheet)] }));
    for (const style of document.querySelectorAll("style:not([data-fhr-stale])")) {
      const urls = importedUrls(style.sheet);
      // an inline <style> matters only through what it imports: re-inserting one that imports nothing is no use
      if (urls.length) found.push({ owner: style, urls });
    }
    return found;
  }

  // the same-origin sheets `sheet` pulls in by @import, nested ones too; another origin's rules cannot be read
  function importedUrls(sheet, into = []) {
    let rules;
    try { rules = sheet ? sheet.cssRules : null; } catch { return into; }
    for (const rule of rules || []) {
      if (!(rule instanceof CSSImportRule)) continue;
      const href = new URL(rule.href, sheet.href || location.href).href;
      if (!sameOrigin(href)) continue;
      into.push(href);
      if (rule.styleSheet) importedUrls(rule.styleSheet, into);
    }
    return into;
  }

  // for each changed path, the owners of the sheets whose URL ends in most of its folders (a tie swaps them all)
  function ownersUsing(paths) {
    const sheets = sheetOwners();
    const owners = new Set();
    for (const path of paths) {
      const scored = sheets.map((s) => ({ owner: s.owner, score: Math.max(...s.urls.map((u) => sharedTail(path, u))) }));
      const best = Math.max(0, ...scored.map((s) => s.score));
      if (best > 0) for (const s of scored) if (s.score === best) owners.add(s.owner);
    }
    return owners;
  }

  // how many trailing path segments a changed file and a sheet's URL share (0: not even the file name)
  function sharedTail(path, href) {
    const ours = path.split("/").filter(Boolean);
    const theirs = new URL(href).pathname.split("/").filter(Boolean).map(decodeSegment);
    let n = 0;
    while (n < ours.length && n < theirs.length && ours[ours.length - 1 - n] === theirs[theirs.length - 1 - n]) n++;
    return n;
  }

  function decodeSegment(segment) {
    try { return decodeURIComponent(segment); } catch { return segment; }
  }

  // a <link> under a fresh query; a <style> re-inserted, which fetches what it imports again
  function swapOne(node, version) {
    const fresh = node.cloneNode(node.localName === "style");
    if (node.localName === "link") fresh.href = bust(node.href, version);
    node.dataset.fhrStale = "1";
    // the old sheet goes only once the new one is in (its imports too): no flash of unstyled content
    const done = () => node.remove();
    fresh.addEventListener("load", done, { once: true });
    fresh.addEventListener("error", done, { once: true });
    node.after(fresh);
  }

  function refreshImages(paths, version) {
    const names = namesOf(paths);
    const matches = (value) => { try { return names.has(nameOf(new URL(value, location.href))); } catch { return false; } };
    const rewrite = (value) => (matches(value) ? bust(value, version) : value);
    rewriteAttributes(matches, rewrite);
    for (const el of document.querySelectorAll("[style*='url(']")) el.style.cssText = cssUrls(el.style.cssText, matches, rewrite);
    for (const sheet of document.styleSheets) rewriteSheet(sheet, matches, rewrite);
    log("Images refreshed: " + paths.join(", "));
  }

  // img and source, srcset, SVG references and icons that name a changed image
  function rewriteAttributes(matches, rewrite) {
    const setIf = (el, attr) => {
      const value = el.getAttribute(attr);
      if (value && !value.startsWith("#") && matches(value)) el.setAttribute(attr, rewrite(value));
    };
    const srcset = (value) => value.split(",").map((part) => {
      const [url, ...rest] = part.trim().split(/\s+/);
      return [rewrite(url), ...rest].join(" ");
    }).join(", ");
    for (const el of document.querySelectorAll("img[src], source[src], input[type=image][src]")) setIf(el, "src");
    for (const el of document.querySelectorAll("img[srcset], source[srcset]")) el.setAttribute("srcset", srcset(el.getAttribute("srcset")));
    for (const el of document.querySelectorAll("image, use, feImage")) { setIf(el, "href"); setIf(el, "xlink:href"); }
    for (const el of document.querySelectorAll('link[rel~="icon"][href], link[rel~="apple-touch-icon"][href]')) setIf(el, "href");
  }

  function cssUrls(text, matches, rewrite) {
    return text.replace(/url\(\s*(["']?)([^"')]+)\1\s*\)/g, (all, quote, url) => (matches(url) ? `url("${rewrite(url)}")` : all));
  }

  // background and mask images set by stylesheets: the rules that name the image get a fresh URL
  function rewriteSheet(sheet, matches, rewrite) {
    let rules;
    try { rules = sheet.cssRules; } catch { return; } // another origin's sheet: not ours to read
    for (const rule of rules || []) {
      if (rule.styleSheet) rewriteSheet(rule.styleSheet, matches, rewrite);
      if (rule.cssRules) rewriteSheet(rule, matches, rewrite);
      if (!rule.style || !rule.style.cssText.includes("url(")) continue;
      for (const name of [...rule.style]) {
        const value = rule.style.getPropertyValue(name);
        if (!value.includes("url(")) continue;
        const fresh = cssUrls(value, matches, rewrite);
        if (fresh !== value) rule.style.setProperty(name, fresh, rule.style.getPropertyPriority(name));
      }
    }
  }

  return { refresh, linkedStylesheets };
})();
