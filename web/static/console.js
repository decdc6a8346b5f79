/* The Cypher console: Ctrl+Enter runs; rows holding nodes and relationships become a graph. */
"use strict";

(function () {
  const form = document.getElementById("console-form");
  const query = document.getElementById("query");
  if (!form || !query) return;
  [query, document.getElementById("params")].forEach((area) => area && area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  }));
  const data = document.getElementById("result-graph-data");
  const box = document.getElementById("result-graph");
  if (data && box && window.kgGraph) {
    const graph = JSON.parse(data.textContent);
    kgGraph.draw(box, graph.nodes.map((n) => ({ key: n.eid, id: n.id, kind: n.kind, label: n.label })),
                 graph.edges, {});
  }
})();
