/* Share cards inside WeChat, and the copy buttons of the share page. No library.
 *
 * Every page includes this script and is the same for everyone (so it can be cached): inside
 * WeChat only, it loads the JS-SDK (data-sdk: WeChat's own when live, the sandbox's stand-in
 * in sandbox mode), asks the shop for wx.config's signed parameters for this exact address
 * and for the reader's sharer code (data-config), and sets the cards that 发送给朋友 and
 * 分享到朋友圈 send: the page's og: title, description and image, and its address tagged
 * ?via=share&by=<code>, so an order that follows is credited to the sharer.
 */
(function () {
  "use strict";
  var script = document.currentScript;

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.getAttribute("data-copy")).value;
      var done = function () { button.textContent = "已复制"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {});
      } else {
        var field = document.getElementById(button.getAttribute("data-copy"));
        field.select();
        if (document.execCommand("copy")) done();
      }
    });
  });

  if (!/MicroMessenger/i.test(navigator.userAgent) || !script) return;

  function meta(property) {
    var node = document.querySelector('meta[property="' + property + '"]');
    return node ? node.getAttribute("content") : "";
  }

  function sharedLink(code) {
    var link = new URL(meta("og:url") || location.href.split("#")[0]);
    link.searchParams.set("via", "share");
    if (code) link.searchParams.set("by", code);
    return link.toString();
  }

  function configure(answer) {
    var wx = window.wx;
    if (!wx || !answer.config) return;
    wx.config(Object.assign({ debug: false }, answer.config));
    wx.ready(function () {
      var card = {
        title: meta("og:title") || document.title,
        desc: meta("og:description"),
        link: sharedLink(answer.sharer),
        imgUrl: meta("og:image")
      };
      wx.updateAppMessageShareData(card);
      wx.updateTimelineShareData({ title: card.title, link: card.link, imgUrl: card.imgUrl });
      document.documentElement.setAttribute("data-share-ready", "");
    });
  }

  var sdk = document.createElement("script");
  sdk.src = script.getAttribute("data-sdk");
  sdk.onload = function () {
    var url = script.getAttribute("data-config") + "?url=" +
      encodeURIComponent(location.href.split("#")[0]);
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(configure)
      .catch(function () {});  // no share card is better than a broken page
  };
  document.head.appendChild(sdk);
})();
