/* A node page: the neighbourhood graph, and the feedback for a result opened from search. */
"use strict";

(function () {
  const root = document.getElementById("node");
  if (!root) return;
  const nodeId = root.dataset.nodeId;

  /* --- feedback: the open, then how long the page stayed visible ------------------ */
  const url = new URL(window.location.href);
  const searchId = url.searchParams.get("from");
  const position = url.searchParams.get("pos");
  if (searchId !== null && position !== null) {
    url.searchParams.delete("from");
    url.searchParams.delete("pos");
    history.replaceState(null, "", url.pathname + url.search + url.hash);  // a reload is not a second open
    let openId = null;
    let visibleMs = 0;
    let since = document.visibilityState === "visible" ? performance.now() : null;
    kg.postJSON("/api/feedback", { event: "open", search_id: Number(searchId), node_id: nodeId,
                                   position: Number(position) })
      .then((data) => { openId = data.open_id; root.dataset.openId = openId; })
      .catch((err) => console.warn("feedback not recorded", err));
    const flush = () => {
      if (since !== null) { visibleMs += performance.now() - since; since = null; }
      if (openId !== null) kg.beacon("/api/feedback", { event: "dwell", open_id: openId,
                                                       dwell_ms: Math.round(visibleMs) });
    };
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") flush();
      else since = performance.now();
    });
    window.addEventListener("pagehide", flush);
    window.addEventListener("beforeunload", flush);
  }

  /* --- the neighbourhood graph -------------------------------------------------------- */
  const graph = document.getElementById("graph");
  if (!graph || !window.kgGraph) return;
  const buttons = Array.from(document.querySelectorAll(".depth-btn"));
  async function draw(depth) {
    buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.depth === String(depth))));
    try {
      const legend = document.getElementById("graph-legend");
      if (graph.dataset.layout) {  // laid out by the server for this box: labels never collide
        const size = "&w=" + Math.max(200, graph.clientWidth) + "&h=" + Math.max(200, graph.clientHeight);
        const response = await fetch(graph.dataset.layout + "&depth=" + depth + size, { credentials: "same-origin" });
        const data = await response.json();
        if (data.ok) {  // else (not in the search index yet) the plain neighbours below
          kgGraph.drawClustered(graph, data, { legend, openPage: graph.dataset.center });
          return;
        }
      }
      const response = await fetch(graph.dataset.src + "?depth=" + depth, { credentials: "same-origin" });
      const data = await response.json();
      if (!data.ok) throw new Error(data.error);
      kgGraph.draw(graph, data.nodes.map((n) => ({ key: n.id, id: n.id, kind: n.kind, label: n.label })),
                   data.edges.map((e) => ({ src: e.src, dst: e.dst, kind: e.kind })),
                   { center: graph.dataset.center, legend });
    } catch (err) {
      graph.textContent = "The graph could not be drawn: " + err.message;
    }
  }
  buttons.forEach((b) => b.addEventListener("click", () => draw(Number(b.dataset.depth))));
  draw(1);
})();
