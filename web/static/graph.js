/* Graph views drawn with the vendored cytoscape.js: coloured by kind, click to navigate. */
"use strict";

window.kgGraph = (function () {
  const COLOURS = {
    Note: "#4e79a7", Heading: "#76b7b2", Block: "#59a14f", Tag: "#edc948", Attachment: "#b07aa1",
    Unresolved: "#bab0ac", File: "#f28e2b", Class: "#e15759", Function: "#ff9da7",
    ExternalModule: "#9c755f",
  };

  /**
   * Draw nodes ({key, id, kind, label}) and edges ({src, dst, kind}, ends are node keys).
   * Clicking a node with an id opens its page.
   */
  function draw(container, nodes, edges, options) {
    options = options || {};
    container.textContent = "";
    if (!window.cytoscape) { container.textContent = "cytoscape.js is missing"; return null; }
    const keys = new Set(nodes.map((n) => n.key));
    const elements = nodes.map((n) => ({ group: "nodes", data: {
      id: n.key, nodeId: n.id || "", kind: n.kind || "", label: shorten(n.label || n.id || n.key),
      colour: COLOURS[n.kind] || "#888", center: n.id === options.center ? 1 : 0 } }));
    edges.filter((e) => keys.has(e.src) && keys.has(e.dst)).forEach((e, i) => elements.push({
      group: "edges", data: { id: "e" + i, source: e.src, target: e.dst, kind: e.kind } }));
    const cy = cytoscape({
      container, elements, wheelSensitivity: 0.3, minZoom: 0.2, maxZoom: 3,
      style: [
        { selector: "node", style: { "background-color": "data(colour)", label: "data(label)",
          "font-size": 9, color: "#555", "text-valign": "bottom", "text-margin-y": 3, width: 14, height: 14 } },
        { selector: "node[center = 1]", style: { width: 24, height: 24, "border-width": 3,
          "border-color": "#222", "font-weight": "bold", color: "#222" } },
        { selector: "edge", style: { width: 1, "line-color": "#bbb", "target-arrow-color": "#bbb",
          "target-arrow-shape": "triangle", "arrow-scale": 0.6, "curve-style": "bezier" } },
      ],
      layout: { name: nodes.length > 60 ? "concentric" : "cose", animate: false, fit: true, padding: 12,
                concentric: (n) => n.data("center") ? 2 : 1, levelWidth: () => 1 },
    });
    cy.on("tap", "node", (event) => {
      const id = event.target.data("nodeId");
      if (id && id !== options.center) window.location.assign(kg.nodeUrl(id));
    });
    container.dataset.nodes = String(nodes.length);
    if (options.legend) legend(options.legend, nodes);
    return cy;
  }

  function legend(target, nodes) {
    target.textContent = "";
    const kinds = Array.from(new Set(nodes.map((n) => n.kind))).sort();
    kinds.forEach((kind) => {
      const item = document.createElement("span");
      item.className = "legend-item kind-" + String(kind).toLowerCase();
      item.textContent = kind;
      target.appendChild(item);
    });
  }

  function shorten(text) {
    text = String(text);
    return text.length > 28 ? text.slice(0, 26) + "…" : text;
  }

  return { draw, COLOURS };
})();
