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

  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
                   "#ff9da7", "#9c755f", "#8cd17d", "#499894", "#d37295"];

  /**
   * The full-page graph (/api/graph's answer, laid out by the server: x, y, size, font,
   * labelled). In the overview nodes are coloured by folder cluster, notes round and files
   * square; only the labels that do not collide are shown until the reader zooms in.
   * Clicking a node centres the local graph on it (``options.openPage``, the id of the page it is drawn on: opens the clicked node's page).
   */
  function drawClustered(container, data, options) {
    options = options || {};
    container.textContent = "";
    if (!window.cytoscape) { container.textContent = "cytoscape.js is missing"; return null; }
    const overview = data.mode === "overview";
    const colourOf = {};
    data.clusters.forEach((c, i) => { colourOf[c.key] = PALETTE[i % PALETTE.length]; });
    const elements = data.nodes.map((n) => ({ group: "nodes", position: { x: n.x, y: n.y },
      classes: n.label_at === "above" ? "label-above" : "", data: {
      id: n.key, nodeId: n.id, kind: n.kind, label: shorten(n.label || n.id), shown: n.labelled ? shorten(n.label || n.id) : "",
      colour: overview ? colourOf[n.cluster] || "#888" : COLOURS[n.kind] || "#888", size: n.size, font: n.font,
      shape: n.kind === "Note" ? "ellipse" : "round-rectangle", center: n.id === data.center ? 1 : 0,
      z: n.id === data.center ? 3 : n.labelled ? 2 : 1 } }));  // a shown label is never under another node
    if (overview && data.clusters.length > 1) {
      data.clusters.filter((c) => c.labelled).forEach((c) => elements.push({ group: "nodes",
        position: { x: c.x, y: c.y }, selectable: false, grabbable: false,
        data: { id: "cluster:" + c.key, caption: c.label, colour: colourOf[c.key] } }));
    }
    data.edges.forEach((e, i) => elements.push({ group: "edges", data: {
      id: "e" + i, source: e.src, target: e.dst, kind: e.kind, weight: e.weight || 1 } }));
    const cy = cytoscape({
      container, elements, wheelSensitivity: 0.3, minZoom: 0.05, maxZoom: 4, layout: { name: "preset", fit: true, padding: 16 },
      style: [
        { selector: "node[nodeId]", style: {
          "background-color": "data(colour)", shape: "data(shape)", label: "data(shown)", color: "#333",
          width: "data(size)", height: "data(size)", "font-size": "data(font)", "text-valign": "bottom",
          "text-margin-y": 2, "text-background-color": "#fff", "text-background-opacity": 0.8,
          "text-background-padding": 1, "border-width": 1, "border-color": "#fff", "z-index": "data(z)" } },
        { selector: "node.label-above[nodeId]", style: { "text-valign": "top", "text-margin-y": -2 } },
        { selector: "node.all-labels[nodeId]", style: { label: "data(label)" } },
        { selector: "node[caption]", style: { label: "data(caption)", "background-opacity": 0, width: 1, height: 1,
          "font-size": 15, "font-weight": "bold", color: "data(colour)", "text-valign": "center", events: "no" } },
        { selector: "node[center = 1]", style: { "border-width": 3, "border-color": "#222", "font-weight": "bold", label: "data(label)" } },
        { selector: "edge", style: { width: "mapData(weight, 1, 10, 0.6, 3)", "line-color": "#c4c4c4",
          "target-arrow-color": "#c4c4c4", "target-arrow-shape": "triangle", "arrow-scale": 0.5,
          "curve-style": "straight", opacity: 0.55 } },
      ],
    });
    const fitted = cy.zoom();
    cy.on("zoom", () => cy.nodes("[nodeId]").toggleClass("all-labels", cy.zoom() > fitted * 1.8));
    cy.on("tap", "node[nodeId]", (event) => {
      const id = event.target.data("nodeId");
      if (options.openPage) {  // a node page's own graph: a click opens that node's page
        if (id !== options.openPage) window.location.assign(kg.nodeUrl(id));
        return;
      }
      const depth = document.getElementById("g-depth");
      window.location.assign("/graph?node=" + encodeURIComponent(event.target.data("nodeId")) +
                             "&depth=" + (depth ? depth.value : 1));
    });
    container.dataset.nodes = String(data.nodes.length);
    container.dataset.clusters = String(overview ? data.clusters.length : 0);
    container.dataset.labelled = String(data.nodes.filter((n) => n.labelled).length);
    if (options.legend) {
      if (overview) clusterLegend(options.legend, data.clusters); else legend(options.legend, data.nodes);
    }
    return cy;
  }

  function clusterLegend(target, clusters) {
    target.textContent = "";
    clusters.forEach((c) => {
      const item = document.createElement("span");
      item.className = "legend-item cluster-" + (clusters.indexOf(c) % PALETTE.length);
      item.textContent = c.label;
      target.appendChild(item);
    });
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

  return { draw, drawClustered, COLOURS };
})();
