// Keep the live part of a console page current from the server's event stream (no polling).
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live || !live.dataset.events || !window.EventSource) return;
  const source = new EventSource(live.dataset.events);
  source.addEventListener("live", function (event) {
    live.innerHTML = event.data;
    live.dataset.updated = String(Date.now());
  });
})();
