/* The Models page: Promote posts the model's name (JSON, same-origin) and reloads when done. */
"use strict";

(function () {
  const error = document.getElementById("promote-error");
  document.querySelectorAll("button.promote").forEach((button) => {
    button.addEventListener("click", async () => {
      const all = document.querySelectorAll("button.promote");
      all.forEach((b) => { b.disabled = true; });
      button.textContent = "Promoting… (re-embedding the index)";
      try {
        await kg.postJSON("/api/models/promote", { name: button.dataset.name });
        window.location.reload();
      } catch (err) {
        error.textContent = "Not promoted: " + err.message;
        error.hidden = false;
        button.textContent = "Promote";
        all.forEach((b) => { b.disabled = false; });
      }
    });
  });
})();
