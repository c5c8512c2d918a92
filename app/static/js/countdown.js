/* Limited-time offers' countdowns: every [data-offer-ends] (an ISO end time) shows the time
 * left, once a second; at the end it says so, and the page's price is no longer the offer's
 * (the server decides the price; the confirm page asks again if it changed). No library. */
(function () {
  "use strict";
  var clocks = Array.prototype.slice.call(document.querySelectorAll("[data-offer-ends]"));
  if (!clocks.length) return;
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var tick = function () {
    var now = Date.now();
    clocks.forEach(function (clock) {
      var left = Math.floor((Date.parse(clock.getAttribute("data-offer-ends")) - now) / 1000);
      if (left <= 0) {
        clock.textContent = "已结束";
        return;
      }
      var days = Math.floor(left / 86400);
      var rest = pad(Math.floor(left % 86400 / 3600)) + ":" + pad(Math.floor(left % 3600 / 60)) +
        ":" + pad(left % 60);
      clock.textContent = "还剩 " + (days ? days + " 天 " : "") + rest;
    });
  };
  tick();
  setInterval(tick, 1000);
})();
