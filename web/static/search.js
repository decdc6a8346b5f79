/* Search as you type, keyboard navigation, and the feedback log (searches and opens). */
"use strict";

(function () {
  const form = document.getElementById("search-form");
  const input = document.getElementById("q");
  const box = document.getElementById("results");
  if (!form || !input || !box) return;

  const SETTLE_MS = 1500;   // results shown this long count as a search worth logging
  let seq = 0;              // the newest request; older replies are dropped
  let controller = null;
  let settleTimer = null;
  let recorded = null;      // Promise of the search id of the results on screen
  let shown = null;         // the query string of the results on screen

  function params() {
    const data = new FormData(form);
    const out = new URLSearchParams();
    for (const [key, value] of data.entries()) {
      if (String(value).trim() !== "") out.append(key, String(value).trim());
    }
    return out;
  }

  async function refresh() {
    const query = params();
    if (query.toString() === shown) return;
    const mine = ++seq;
    if (controller) controller.abort();
    controller = new AbortController();
    history.replaceState(null, "", query.get("q") ? "/?" + query.toString() : "/");
    const home = document.getElementById("home");
    if (home) home.hidden = Boolean(query.get("q"));
    if (!query.get("q")) {
      box.innerHTML = "";
      shown = query.toString();
      return;
    }
    const key = query.toString();
    query.set("partial", "1");
    try {
      const response = await fetch("/search?" + query.toString(), { signal: controller.signal,
                                                                    credentials: "same-origin" });
      const html = await response.text();
      if (mine !== seq) return;
      box.innerHTML = html;  // rendered and escaped by the server
      shown = key;
      resultsChanged();
    } catch (err) {
      if (err.name !== "AbortError") console.warn("search failed", err);
    }
  }

  function items() {
    return Array.from(box.querySelectorAll("li.result"));
  }

  function resultsChanged() {
    recorded = null;
    clearTimeout(settleTimer);
    if (items().length) settleTimer = setTimeout(recordSearch, SETTLE_MS);
  }

  /** Log the search on screen once; resolves to its search id (or null). */
  function recordSearch() {
    clearTimeout(settleTimer);
    const list = document.getElementById("result-list");
    if (!list) return Promise.resolve(null);
    if (!recorded) {
      const ids = items().map((li) => li.dataset.id);
      recorded = kg.postJSON("/api/feedback", { event: "search", query: list.dataset.query, results: ids })
        .then((data) => data.search_id)
        .catch((err) => { console.warn("feedback not recorded", err); return null; });
    }
    return recorded;
  }

  async function open(li) {
    const link = li.querySelector("a.result-title");
    const searchId = await recordSearch();
    let url = link.getAttribute("href");
    if (searchId) url += "?from=" + encodeURIComponent(searchId) + "&pos=" + li.dataset.position;
    window.location.assign(url);
  }

  function select(delta) {
    const all = items();
    if (!all.length) return;
    let index = all.findIndex((li) => li.classList.contains("selected"));
    all.forEach((li) => { li.classList.remove("selected"); li.removeAttribute("aria-selected"); });
    index = index < 0 ? (delta > 0 ? 0 : all.length - 1) : (index + delta + all.length) % all.length;
    all[index].classList.add("selected");
    all[index].setAttribute("aria-selected", "true");
    all[index].scrollIntoView({ block: "nearest" });
  }

  const more = document.getElementById("f-k");
  const debounced = kg.debounce(refresh, 200);
  input.addEventListener("input", () => { more.value = ""; debounced(); });
  form.addEventListener("change", debounced);
  form.addEventListener("submit", (event) => {
    // Enter opens the selected result, else the top one of the results on screen for this query.
    const current = shown === params().toString();
    const target = box.querySelector("li.result.selected") || (current ? items()[0] : null);
    event.preventDefault();
    if (target) open(target); else refresh();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      select(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter" && event.target.tagName !== "BUTTON") {
      const selected = box.querySelector("li.result.selected");
      if (selected && event.target !== input) { event.preventDefault(); open(selected); }
    } else if (event.key === "/" && document.activeElement !== input) {
      event.preventDefault();
      input.focus();
    }
  });
  box.addEventListener("click", (event) => {
    if (event.target.id === "more-results") {  // the same search, ten more results
      event.preventDefault();
      more.value = event.target.dataset.k;
      refresh();
      return;
    }
    const link = event.target.closest("a.result-title");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    open(link.closest("li.result"));
  });
  shown = params().toString();
  if (items().length) resultsChanged();
})();
