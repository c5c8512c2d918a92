/* Pay pages: countdown, status polling (slower as the page stays open: pay-schedule.js),
   and the JSAPI (WeixinJSBridge) button.
   Written here, no library: the shop loads nothing from the internet. */
(function () {
  "use strict";
  var root = document.querySelector("[data-status-url]");
  if (!root) return;
  var statusUrl = root.getAttribute("data-status-url");
  // Counted from the server's figure, not the device's clock, which may be wrong.
  var expiresAt = Date.now() + 1000 * Number(root.getAttribute("data-seconds-left"));
  var countdown = document.querySelector("[data-countdown]");
  var statusText = document.querySelector("[data-status-text]");
  var openedAt = Date.now();
  var finished = false;
  var polling = false;
  var nextPoll = null;

  function say(text) { if (statusText) statusText.textContent = text; }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function tick() {
    if (!countdown || finished) return;
    var left = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    countdown.textContent = (h ? h + ":" : "") + pad(m) + ":" + pad(s);
    if (left === 0) { say("订单已到期"); }  // the next poll sees "closed" and reloads
  }

  function pollIn(ms) {
    clearTimeout(nextPoll);
    nextPoll = setTimeout(poll, ms);
  }

  function pollSoon() { pollIn(window.payPollDelay(Date.now() - openedAt)); }

  function poll() {
    if (finished || polling) return;
    polling = true;
    fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        polling = false;
        if (data.status === "paid") {
          finished = true;
          say(data.kind === "tip" ? "支付成功，谢谢你的赞赏…" : "支付成功，正在打开内容…");
          location.href = data.next || location.href;
        } else if (data.status !== "pending") {
          finished = true;
          location.reload();
        } else {
          pollSoon();
        }
      })
      .catch(function () { polling = false; pollIn(2 * window.payPollDelay(Date.now() - openedAt)); });
  }

  setInterval(tick, 1000);
  tick();
  pollSoon();
  // Back on a tab left open a while: ask at once rather than up to 30 s later.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") pollIn(0);
  });

  var payButton = document.querySelector("[data-jsapi-pay]");
  if (payButton) {
    var params = JSON.parse(document.getElementById("jsapi-params").textContent);
    var invoking = false;
    var invoke = function () {
      if (invoking) return;
      invoking = true;
      window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (res) {
        invoking = false;
        // "ok" is not proof of payment: the status poll waits for the shop to hear from WeChat.
        if (res.err_msg === "get_brand_wcpay_request:ok") {
          say("支付完成，正在确认…");
          pollIn(1000);  // the shop hears from WeChat within a moment; do not wait 30 s
        } else if (res.err_msg === "get_brand_wcpay_request:cancel") {
          say("你取消了支付，可以再次点击支付");
        } else {
          say("支付没有完成，请重试");
        }
      });
    };
    payButton.addEventListener("click", function () {
      if (window.WeixinJSBridge) { invoke(); return; }
      document.addEventListener("WeixinJSBridgeReady", invoke, { once: true });
      say("正在打开微信支付…");
    });
  }
})();
