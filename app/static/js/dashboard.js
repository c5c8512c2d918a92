/* Draws the dashboard's charts from the JSON each one carries, with the shop's own copy of
   plotly.min.js. Charts follow the width of their box, so a phone gets them full width. */
(function () {
  "use strict";
  if (!window.Plotly) return;  // the tables under each chart say the same in numbers
  var config = { responsive: true, displayModeBar: false, locale: "zh-CN" };
  document.querySelectorAll("[data-chart]").forEach(function (box) {
    var spec = JSON.parse(document.getElementById("chart-" + box.dataset.chart).textContent);
    window.Plotly.newPlot(box, spec.data, spec.layout, config);
  });
})();
