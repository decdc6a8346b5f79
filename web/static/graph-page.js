/* The full-page graph: fetch /api/graph for the form's settings and draw it, clustered by folder. */
"use strict";

(function () {
  const box = document.getElementById("graph-full");
  const form = document.getElementById("graph-form");
  if (!box || !form || !window.kgGraph) return;
  const depth = document.getElementById("g-depth");
  const shownDepth = document.getElementById("g-depth-shown");

  function query() {
    const out = new URLSearchParams();
    for (const [key, value] of new FormData(form).entries()) {
      if (String(value).trim() !== "") out.append(key, String(value).trim());
    }
    return out;
  }

  async function draw() {
    const params = query();
    history.replaceState(null, "", "/graph?" + params.toString());
    try {
      const size = new URLSearchParams(params);  // laid out for this box, so labels are chosen at the size drawn
      size.set("w", String(Math.max(200, box.clientWidth)));
      size.set("h", String(Math.max(200, box.clientHeight)));
      const response = await fetch("/api/graph?" + size.toString(), { credentials: "same-origin" });
      const data = await response.json();
      if (!data.ok) throw new Error(data.error);
      kgGraph.drawClustered(box, data, { legend: document.getElementById("graph-legend") });
      box.dataset.edges = String(data.edges.length);
      const status = document.getElementById("graph-status");
      const more = data.truncated ? ` (the best connected of ${data.total}; narrow by root, tag or folder)` : "";
      const alone = data.unlinked ? ` (${data.unlinked} with no links are not drawn)` : "";
      status.textContent = `${data.shown} nodes${more}${alone}, ${data.edges.length} edges; ` +
        (data.mode === "overview" ? "sections and definitions are folded into their note or file. Click one to see its local graph."
                                  : "sections folded into their note. Click one to centre on it.");
    } catch (err) {
      box.textContent = "The graph could not be drawn: " + err.message;
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); draw(); });
  form.addEventListener("change", draw);
  if (depth) depth.addEventListener("input", () => { shownDepth.textContent = depth.value; });
  draw();
})();
