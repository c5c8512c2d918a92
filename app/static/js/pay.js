/* Pay pages: countdown, status polling every 2 s, and the JSAPI (WeixinJSBridge) button.
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
  var finished = false;
  var polling = false;

  function say(text) { if (statusText) statusText.textContent = text; }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function tick() {
    if (!countdown || finished) return;
    var left = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    countdown.textContent = (h ? h + ":" : "") + pad(m) + ":" + pad(s);
    if (left === 0) { say("订单已到期"); }  // the next poll sees "closed" and reloads
  }

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
          setTimeout(poll, 2000);
        }
      })
      .catch(function () { polling = false; setTimeout(poll, 4000); });
  }

  setInterval(tick, 1000);
  tick();
  setTimeout(poll, 2000);

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
          say("支付完成，正在确认…");  // the running poll picks the result up
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
