/* The WeChat sandbox's stand-in for WeChat's in-app JS bridge (window.WeixinJSBridge).
 *
 * A shop's JSAPI pay page includes this script in sandbox mode; inside real WeChat the bridge
 * already exists and this script does nothing. invoke("getBrandWCPayRequest", params, callback)
 * shows a bottom sheet like WeChat's cashier. The sandbox server checks paySign
 * (docs/wechat-protocol.md §7) before the sheet shows the amount, and again when 支付 is pressed;
 * then it pays the order as its openid. The callback gets {err_msg: "get_brand_wcpay_request:ok" | ":cancel" | ":fail"}.
 * Plain DOM and inline styles: the shop's page has none of the sandbox's stylesheets.
 */
(function () {
  "use strict";
  if (window.WeixinJSBridge) {
    return;
  }

  var CHECK_URL = {{ check_url|tojson }};
  var PAY_URL = {{ pay_url|tojson }};
  var RESULT = "get_brand_wcpay_request:";
  var GREEN = "#07c160";

  function element(tag, style, text) {
    var node = document.createElement(tag);
    Object.assign(node.style, style || {});
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function button(label, action, primary) {
    var node = element("button", {
      display: "block",
      width: "100%",
      margin: "10px 0 0",
      padding: "12px",
      border: "0",
      borderRadius: "8px",
      font: "inherit",
      fontWeight: "600",
      background: primary ? GREEN : "#f2f2f2",
      color: primary ? "#fff" : "#111",
      cursor: "pointer"
    }, label);
    node.type = "button";
    node.setAttribute("data-action", action);
    return node;
  }

  function post(url, params) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(params || {})
    }).then(function (response) {
      return response.json();
    }).catch(function () {
      return { ok: false, message: "网络错误，请稍后再试" };
    });
  }

  function Sheet() {
    this.overlay = element("div", {
      position: "fixed",
      inset: "0",
      zIndex: "2147483647",
      display: "flex",
      alignItems: "flex-end",
      justifyContent: "center",
      background: "rgba(0, 0, 0, 0.5)",
      fontFamily: '-apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif',
      fontSize: "16px",
      lineHeight: "1.5"
    });
    this.overlay.setAttribute("data-sandbox-pay-sheet", "");
    this.panel = element("div", {
      width: "100%",
      maxWidth: "480px",
      boxSizing: "border-box",
      padding: "16px 16px 28px",
      borderRadius: "12px 12px 0 0",
      background: "#fff",
      color: "#111",
      textAlign: "center"
    });
    this.overlay.appendChild(this.panel);
    document.body.appendChild(this.overlay);
  }

  Sheet.prototype.show = function (parts) {
    var panel = this.panel;
    panel.textContent = "";
    var title = element("div", { fontWeight: "600", marginBottom: "12px" }, "微信支付");
    title.appendChild(element("span", {
      marginLeft: "6px",
      padding: "1px 5px",
      borderRadius: "4px",
      background: "#fa9d3b",
      color: "#fff",
      fontSize: "11px",
      verticalAlign: "2px"
    }, "沙箱"));
    panel.appendChild(title);
    parts.forEach(function (part) {
      panel.appendChild(part);
    });
  };

  Sheet.prototype.close = function () {
    this.overlay.remove();
  };

  function getBrandWCPayRequest(params, callback) {
    var sheet = new Sheet();
    var finished = false;

    function finish(outcome, extra) {
      if (finished) {
        return;
      }
      finished = true;
      sheet.close();
      if (typeof callback === "function") {
        callback(Object.assign({ err_msg: RESULT + outcome }, extra || {}));
      }
    }

    function fail(message) {
      var close = button("关闭", "close", false);
      close.addEventListener("click", function () {
        finish("fail", { err_desc: message });
      });
      sheet.show([
        element("p", { color: "#fa5151", margin: "12px 0" }, message),
        close
      ]);
    }

    sheet.show([element("p", { color: "#888" }, "正在加载…")]);
    post(CHECK_URL, params).then(function (info) {
      if (!info.ok) {
        fail(info.message);
        return;
      }
      var pay = button("支付", "pay", true);
      var cancel = button("取消", "cancel", false);
      sheet.show([
        element("div", { color: "#555" }, info.payee),
        element("div", { fontSize: "34px", fontWeight: "600", margin: "6px 0" }, info.amount),
        element("div", { color: "#888", fontSize: "14px", marginBottom: "8px" }, info.body),
        pay,
        cancel
      ]);
      cancel.addEventListener("click", function () {
        finish("cancel");
      });
      pay.addEventListener("click", function () {
        pay.disabled = true;
        cancel.disabled = true;
        pay.textContent = "支付中…";
        post(PAY_URL, params).then(function (result) {
          if (!result.ok) {
            fail(result.message);
            return;
          }
          sheet.show([
            element("div", { fontSize: "40px", color: GREEN }, "✓"),
            element("p", { fontWeight: "600" }, "支付成功")
          ]);
          setTimeout(function () {
            finish("ok");
          }, 800);
        });
      });
    });
  }

  window.WeixinJSBridge = {
    invoke: function (name, params, callback) {
      if (name === "getBrandWCPayRequest") {
        getBrandWCPayRequest(params, callback);
      } else if (typeof callback === "function") {
        callback({ err_msg: "system:function_not_exist" });
      }
    }
  };
  document.dispatchEvent(new Event("WeixinJSBridgeReady"));
})();
