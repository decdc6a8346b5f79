/* Shared helpers for kg's pages (no inline script anywhere: the CSP forbids it). */
"use strict";

window.kg = (function () {
  /** The page of a node: ids hold '/', ':', '#', '?' — encode all but '/' and ':'. */
  function nodeUrl(id) {
    return "/node/" + encodeURIComponent(id).replace(/%2F/g, "/").replace(/%3A/g, ":");
  }

  /** POST a JSON body; resolves to the parsed JSON reply, rejects with its error message. */
  async function postJSON(url, body, options) {
    const response = await fetch(url, Object.assign({
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    }, options || {}));
    const data = await response.json().catch(() => ({ ok: false, error: response.statusText }));
    if (!response.ok || data.ok === false) {
      throw new Error(data.error || ("HTTP " + response.status));
    }
    return data;
  }

  /** Send JSON that must survive the page closing: sendBeacon, else fetch keepalive. */
  function beacon(url, body) {
    const blob = new Blob([JSON.stringify(body)], { type: "application/json" });
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(url, blob)) {
        return;
      }
    } catch (err) {
      /* some browsers refuse non-form beacons: fall through */
    }
    fetch(url, { method: "POST", keepalive: true, credentials: "same-origin",
                 headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .catch(() => {});
  }

  function debounce(fn, ms) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
  }

  return { nodeUrl, postJSON, beacon, debounce };
})();
