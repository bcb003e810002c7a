// Live progress: the server pushes snapshots (server-sent events); this only draws them.
"use strict";
(function () {
  var box = document.getElementById("progress");
  if (!box || !window.EventSource) { return; }
  var fmt = function (n) { return (n || 0).toLocaleString("en-US"); };
  var source = new EventSource(box.getAttribute("data-events"));
  source.addEventListener("progress", function (event) {
    var p = JSON.parse(event.data);
    if (p.none) { source.close(); return; }
    document.getElementById("progress-bar").value =
      p.finished && !p.error && !p.stopped ? 100 : p.percent;
    document.getElementById("progress-kind").textContent = p.headline;
    document.getElementById("progress-text").textContent = p.text;
    var counts = document.getElementById("progress-counts");
    counts.textContent = "";
    Object.keys(p.counts).forEach(function (key) {
      var dt = document.createElement("dt");
      dt.textContent = key.replace("_", " ");
      var dd = document.createElement("dd");
      dd.className = "num";
      dd.textContent = fmt(p.counts[key]);
      counts.appendChild(dt);
      counts.appendChild(dd);
    });
    var detail = fmt(p.retrying) + " retrying · " + fmt(p.rate) + " requests/s";
    if (p.eta_seconds !== null) { detail += " · about " + p.eta_seconds + " s left"; }
    document.getElementById("progress-detail").textContent = detail;
    if (p.finished) {
      source.close();
      var outcome = document.getElementById("progress-outcome");
      outcome.textContent = p.error || p.outcome || "";
      outcome.hidden = false;
      document.getElementById("stop-form").hidden = true;
      document.getElementById("results-link").hidden = false;
      document.getElementById("progress-leave").hidden = true;
      document.getElementById("next-step").hidden = !p.send_next;
    }
  });
})();
