/* The WeChat sandbox's stand-in for WeChat's JS-SDK (jweixin.js): window.wx as a page inside
 * WeChat sees it, for the share API the shop uses.
 *
 * wx.config({appId, timestamp, nonceStr, signature, jsApiList}) is checked by the sandbox
 * server as WeChat checks it (AppID, and the signature over a ticket it handed out and this
 * page's address without its fragment); then wx.ready's callbacks run, or wx.error's with
 * {errMsg: "config:invalid signature"}. updateAppMessageShareData / updateTimelineShareData
 * keep the cards; the ··· button (WeChat's top-right menu, in the sandbox banner) shows them, with the link a friend
 * would open. Plain DOM and inline styles: the shop's page has none of the sandbox's styles.
 */
(function () {
  "use strict";
  if (window.wx) {
    return;
  }
  var CHECK_URL = {{ check_url|tojson }};
  var state = { ready: [], error: [], result: null, cards: {} };

  function settle(result) {
    state.result = result;
    var queue = result.ok ? state.ready : state.error;
    queue.splice(0).forEach(function (callback) {
      callback(result.ok ? undefined : { errMsg: result.errMsg });
    });
  }

  function element(tag, style, text) {
    var node = document.createElement(tag);
    Object.assign(node.style, style || {});
    if (text) node.textContent = text;
    return node;
  }

  function showCards() {
    var overlay = element("div", {
      position: "fixed", inset: "0", zIndex: "2147483647", background: "rgba(0,0,0,.5)",
      display: "flex", alignItems: "flex-end", justifyContent: "center",
      fontFamily: '-apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif', fontSize: "15px"
    });
    overlay.setAttribute("data-sandbox-share-sheet", "");
    var panel = element("div", {
      width: "100%", maxWidth: "480px", boxSizing: "border-box", padding: "16px",
      background: "#f7f7f7", borderRadius: "12px 12px 0 0"
    });
    panel.appendChild(element("p", { margin: "0 0 12px", color: "#888" }, "沙箱 · 微信分享预览"));
    [["friend", "发送给朋友"], ["timeline", "分享到朋友圈"]].forEach(function (pair) {
      var card = state.cards[pair[0]];
      var box = element("div", { background: "#fff", borderRadius: "8px", padding: "12px", margin: "0 0 10px" });
      box.setAttribute("data-share-card", pair[0]);
      box.appendChild(element("strong", { display: "block", margin: "0 0 6px" }, pair[1]));
      if (!card) {
        box.appendChild(element("span", { color: "#888" }, "页面没有设置，微信会分享网页标题和链接"));
      } else {
        box.appendChild(element("div", { fontWeight: "600" }, card.title));
        if (card.desc) box.appendChild(element("div", { color: "#666", fontSize: "13px" }, card.desc));
        var link = element("a", { display: "block", marginTop: "6px", fontSize: "12px", wordBreak: "break-all" }, card.link);
        link.href = card.link;
        box.appendChild(link);
      }
      panel.appendChild(box);
    });
    var close = element("button", {
      display: "block", width: "100%", padding: "12px", border: "0", borderRadius: "8px",
      background: "#fff", font: "inherit", cursor: "pointer"
    }, "取消");
    close.type = "button";
    close.addEventListener("click", function () { overlay.remove(); });
    panel.appendChild(close);
    overlay.appendChild(panel);
    document.body.appendChild(overlay);
  }

  function menuButton() {
    var button = element("button", {
      marginLeft: "8px", padding: "0 10px", border: "0", borderRadius: "12px",
      background: "rgba(0,0,0,.6)", color: "#fff", font: "600 14px sans-serif", cursor: "pointer"
    }, "···");
    button.type = "button";
    button.setAttribute("aria-label", "分享（沙箱）");
    button.setAttribute("data-sandbox-share-menu", "");
    button.addEventListener("click", showCards);
    // In the shop's sandbox banner, where it covers nothing of the page.
    var banner = document.querySelector(".sandbox-banner");
    if (banner) {
      banner.appendChild(button);
    } else {
      Object.assign(button.style, { position: "fixed", top: "8px", right: "8px", zIndex: "2147483646" });
      document.body.appendChild(button);
    }
  }

  window.wx = {
    config: function (options) {
      var params = Object.assign({}, options, { url: location.href.split("#")[0] });
      fetch(CHECK_URL, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(params)
      }).then(function (response) {
        return response.json();
      }).catch(function () {
        return { ok: false, errMsg: "config:fail" };
      }).then(settle);
    },
    ready: function (callback) {
      if (state.result && state.result.ok) callback();
      else if (!state.result) state.ready.push(callback);
    },
    error: function (callback) {
      if (state.result && !state.result.ok) callback({ errMsg: state.result.errMsg });
      else if (!state.result) state.error.push(callback);
    },
    updateAppMessageShareData: function (card) {
      state.cards.friend = card;
      if (card.success) card.success();
    },
    updateTimelineShareData: function (card) {
      state.cards.timeline = card;
      if (card.success) card.success();
    }
  };
  if (document.body) menuButton();
  else document.addEventListener("DOMContentLoaded", menuButton);
})();
