/* The studio's Markdown editor: a live preview rendered by the shop itself (the same
   renderer and sanitiser the storefront uses, through POST /studio/products/preview), the
   free-preview marker inserted at the cursor, and a confirm before deleting. No library. */
(function () {
  "use strict";
  var MARKER = "<!--more-->";
  var DEBOUNCE_MS = 300;

  function setUpEditor(editor) {
    var source = editor.querySelector("[data-md-source]");
    var free = editor.querySelector("[data-preview-free]");
    var paid = editor.querySelector("[data-preview-paid]");
    var divider = editor.querySelector("[data-preview-divider]");
    var note = editor.querySelector("[data-preview-note]");
    var status = editor.querySelector("[data-preview-status]");
    // A free product shows everything to everyone: the price typed beside it decides.
    var form = editor.closest("form");
    var price = form && form.querySelector("input[name=price_yuan]");
    var timer = null;
    var latest = 0; // only the answer to the newest request is shown

    function show(result) {
      // The HTML comes from the shop's renderer, already sanitised with nh3.
      free.innerHTML = result.free_html;
      paid.innerHTML = result.paid_html;
      divider.hidden = !(result.has_marker || result.paid_html);
      note.hidden = !result.note;
      note.textContent = result.note || "";
      status.textContent = "";
    }

    function refresh() {
      var asked = ++latest;
      status.textContent = "更新中…";
      fetch(editor.dataset.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": editor.dataset.csrfToken },
        body: JSON.stringify({
          markdown: source.value,
          kind: editor.dataset.previewKind,
          price_yuan: price ? price.value : null
        })
      })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (result) { if (asked === latest) show(result); })
        .catch(function () {
          if (asked === latest) status.textContent = "预览暂时不可用，请刷新页面";
        });
    }

    function refreshSoon() {
      clearTimeout(timer);
      timer = setTimeout(refresh, DEBOUNCE_MS);
    }

    source.addEventListener("input", refreshSoon);
    if (price) price.addEventListener("input", refreshSoon);

    var markerButton = editor.querySelector("[data-insert-marker]");
    if (markerButton) {
      markerButton.addEventListener("click", function () {
        // The marker only counts on a line of its own: add the line breaks it needs.
        var text = source.value;
        var start = source.selectionStart;
        var end = source.selectionEnd;
        var before = text.slice(0, start);
        var after = text.slice(end);
        var insert = (before && !/\n$/.test(before) ? "\n" : "") + MARKER +
          (/^\n/.test(after) ? "" : "\n");
        source.focus();
        source.setRangeText(insert, start, end, "end");
        refresh();
      });
    }
    refresh();
  }

  document.querySelectorAll("[data-md-editor]").forEach(setUpEditor);

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
