/* The tip form (a preset and a typed amount never both look chosen) and the thank-you
   page's share link (system share sheet where there is one, else copy). No library. */
(function () {
  "use strict";
  var form = document.querySelector("[data-tip-form]");
  if (form) {
    var custom = form.querySelector("input[name=custom_yuan]");
    var presets = form.querySelectorAll("input[name=preset_fen]");
    custom.addEventListener("input", function () {
      if (custom.value.trim()) presets.forEach(function (p) { p.checked = false; });
    });
    presets.forEach(function (p) {
      p.addEventListener("change", function () { custom.value = ""; });
    });
    // An anonymous tip carries no name: the field steps back while the box is ticked. It
    // is read-only, not disabled, so the typed name still comes back if the form is refused.
    var anonymous = form.querySelector("input[name=anonymous]");
    var name = form.querySelector("[data-tip-name] input");
    function reflectAnonymous() {
      name.readOnly = anonymous.checked;
      name.closest("[data-tip-name]").classList.toggle("is-off", anonymous.checked);
    }
    anonymous.addEventListener("change", reflectAnonymous);
    reflectAnonymous();
    form.addEventListener("submit", function (event) {
      // One order per form: a second tap while the first is on its way does nothing.
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
    // Back to a form the browser kept in memory: it may be sent again (as a new tip only if
    // the server gave a new token; the same token finds the same order).
    window.addEventListener("pageshow", function () { delete form.dataset.sent; });
  }

  var share = document.querySelector("[data-share]");
  if (share) {
    var url = share.querySelector("[data-share-url]");
    var button = share.querySelector("[data-copy]");
    var status = share.querySelector("[data-copy-status]");
    if (navigator.share) button.textContent = "分享";
    button.addEventListener("click", function () {
      if (navigator.share) {
        navigator.share({ title: document.title, url: url.value }).catch(function () {});
        return;
      }
      url.select();
      var copied = navigator.clipboard
        ? navigator.clipboard.writeText(url.value)
        : Promise.resolve(document.execCommand("copy"));
      copied.then(function () { status.textContent = "链接已复制"; },
                  function () { status.textContent = "请长按链接复制"; });
    });
  }
})();
