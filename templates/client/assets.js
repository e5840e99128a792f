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
      .filter((l) => !l.dataset.fhrStale && new URL(l.href).origin === location.origin);
  }

  // paths null: every stylesheet of this origin (more changed than an event can name)
  function swapStylesheets(paths, version) {
    const names = namesOf(paths || []);
    const links = linkedStylesheets();
    const named = paths ? links.filter((l) => names.has(nameOf(new URL(l.href)))) : links;
    for (const link of named.length ? named : links) swapOne(link, version);
    log("Stylesheet swapped: " + (paths ? paths.join(", ") : "all of them (many changed)"));
  }

  function swapOne(link, version) {
    const fresh = link.cloneNode();
    fresh.href = bust(link.href, version);
    link.dataset.fhrStale = "1";
    // the old sheet goes only once the new one is in: no flash of unstyled content
    const done = () => link.remove();
    fresh.addEventListener("load", done, { once: true });
    fresh.addEventListener("error", done, { once: true });
    link.after(fresh);
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
