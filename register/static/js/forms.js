// Party choosers suggest matches as you type; the route form pre-fills what follows from its parties.
// Written here, no library: the pages work without it (type an exact name, or "#id").
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function partyChooser(input) {
    var list = document.createElement("datalist");
    list.id = input.id + "-suggestions";
    input.setAttribute("list", list.id);
    input.parentNode.appendChild(list);
    input.addEventListener("input", debounce(function () {
      var text = input.value.trim();
      if (text.length < 2 || /#\d+$/.test(text)) { return; }
      var url = "/lookup/parties?q=" + encodeURIComponent(text) + "&kinds=" + encodeURIComponent(input.dataset.kinds || "");
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (parties) {
          list.textContent = "";
          parties.forEach(function (party) {
            var option = document.createElement("option");
            option.value = party.label;
            list.appendChild(option);
          });
        });
    }, 200));
  }

  function partyId(input) {
    var match = input && /#(\d+)\s*$/.exec(input.value);
    return match ? match[1] : "";
  }

  function routeForm(form) {
    var exporter = form.querySelector("#exporter_id");
    var importer = form.querySelector("#importer_id");
    var source = form.querySelector("#source_route_id");
    var hints = document.getElementById("route-hints");
    function setIfEmpty(selector, value) {
      var field = form.querySelector(selector);
      if (field && value !== undefined && value !== null && !field.value) { field.value = value; }
    }
    function prefill() {
      var params = new URLSearchParams({ exporter_id: partyId(exporter), importer_id: partyId(importer), source_route_id: source.value || "" });
      if (!params.get("exporter_id") && !params.get("importer_id")) { return; }
      fetch("/lookup/route-defaults?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : {}; })
        .then(function (defaults) {
          setIfEmpty("#destination", defaults.destination);
          setIfEmpty("#engagement_id", defaults.engagement_id);
          setIfEmpty("#purpose", defaults.purpose);
          if (defaults.exporter_role) { form.querySelector("#exporter_role").value = defaults.exporter_role; }
          if (defaults.importer_role) { form.querySelector("#importer_role").value = defaults.importer_role; }
          if (defaults.regimes) {
            ["EU", "UK", "CH"].forEach(function (regime) {
              var box = form.querySelector("#carries_" + regime.toLowerCase() + "_data");
              if (box) { box.checked = defaults.regimes.indexOf(regime) !== -1; }
            });
          }
          if (hints) { hints.textContent = (defaults.reasons || []).join(" "); }
        });
    }
    [exporter, importer, source].forEach(function (field) {
      if (field) { field.addEventListener("change", prefill); }
    });
  }

  document.querySelectorAll("input[data-lookup='parties']").forEach(partyChooser);
  var route = document.querySelector("form[data-form='routes']");
  if (route) { routeForm(route); }
})();
