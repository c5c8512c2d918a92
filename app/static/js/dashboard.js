/* Draws the dashboard's charts from the JSON each one carries, with the shop's own copy of
   plotly.min.js. Charts follow the width of their box, so a phone gets them full width. */
(function () {
  "use strict";
  if (!window.Plotly) return;  // the tables under each chart say the same in numbers
  // plotly.min.js ships English only: the Chinese month and day names its date axes use.
  window.Plotly.register({
    moduleType: "locale",
    name: "zh-CN",
    dictionary: {},
    format: {
      days: ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
      shortDays: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
      months: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
      shortMonths: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
      date: "%Y-%m-%d",
      decimal: ".",
      thousands: ",",
      grouping: [3],
      currency: ["¥", ""]
    }
  });
  var config = { responsive: true, displayModeBar: false, locale: "zh-CN" };
  document.querySelectorAll("[data-chart]").forEach(function (box) {
    var spec = JSON.parse(document.getElementById("chart-" + box.dataset.chart).textContent);
    window.Plotly.newPlot(box, spec.data, spec.layout, config);
  });
})();
