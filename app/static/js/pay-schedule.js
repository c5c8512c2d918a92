/* How long the pay page waits before asking the shop again, by how long it has been open:
   every 2 s in the first minute (the reader is paying), every 10 s until ten minutes, then
   every 30 s. An abandoned tab asks about 180 times an hour instead of 1,800; the shop asks
   WeChat far less still (reconcile.query_due). Kept apart from pay.js so it can be tested. */
var payPollDelay = function (openForMs) {
  "use strict";
  if (openForMs < 60 * 1000) return 2000;
  if (openForMs < 10 * 60 * 1000) return 10000;
  return 30000;
};
if (typeof module !== "undefined") module.exports = { payPollDelay: payPollDelay };
