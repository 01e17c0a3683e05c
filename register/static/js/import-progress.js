// Follows an import being checked or applied: polls its status and reloads the page when it is done.
// Without JavaScript, the page's Reload link does the same.
(function () {
  "use strict";
  var line = document.getElementById("import-progress");
  var bar = document.getElementById("import-bar");
  if (!line) { return; }
  var url = line.getAttribute("data-status-url");

  function show(status) {
    var text = status.stage || "Working";
    if (status.done) {
      text += ": " + status.done.toLocaleString() + " rows";
      if (status.total) { text += " of ~" + status.total.toLocaleString(); }
    }
    line.textContent = text + "\u2026";
    if (bar && status.total) { bar.value = Math.min(100, Math.round(100 * status.done / status.total)); }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        if (status.state === "running") { show(status); setTimeout(poll, 1000); }
        else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
