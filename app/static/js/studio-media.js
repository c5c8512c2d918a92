// The studio's audio/video upload (studio/products/_media.html): the file goes in chunks,
// each at the offset the shop says it has, so a dropped connection (or a closed tab) resumes
// where it stopped when the same file is chosen again. Then the page follows processing.
(function () {
  "use strict";

  var card = document.querySelector("[data-media-card]");
  if (!card) return;
  var input = card.querySelector("[data-media-file]");
  var bar = card.querySelector("[data-media-progress]");
  var message = card.querySelector("[data-media-message]");
  var csrf = card.dataset.csrfToken;
  var RETRY_MS = 3000;
  var MAX_RETRIES = 20;
  var chunkBytes = 4 * 1024 * 1024; // the shop says its own when an upload starts

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("field-error", !!isError);
  }

  function uploadUrl(token, tail) {
    return card.dataset.uploadUrl.replace("TOKEN", token) + (tail || "");
  }

  // Where a file's upload is remembered: the same file for the same place resumes.
  function memoryKey(file) {
    return ["media-upload", card.dataset.start, card.dataset.section, file.name, file.size,
      file.lastModified].join("|");
  }

  function call(method, url, body, contentType) {
    var headers = { "X-CSRFToken": csrf };
    if (contentType) headers["Content-Type"] = contentType;
    return fetch(url, { method: method, credentials: "same-origin", headers: headers, body: body })
      .then(function (answer) {
        return answer.json().catch(function () { return {}; }).then(function (data) {
          data.httpStatus = answer.status;
          return data;
        });
      });
  }

  function begin(file) {
    var remembered = localStorage.getItem(memoryKey(file));
    if (remembered) {
      return call("GET", uploadUrl(remembered)).then(function (data) {
        if (data.httpStatus === 200) return { token: remembered, received: data.received };
        localStorage.removeItem(memoryKey(file));
        return begin(file);
      });
    }
    var body = JSON.stringify({ filename: file.name, size: file.size, section_id: card.dataset.section });
    return call("POST", card.dataset.start, body, "application/json").then(function (data) {
      if (data.httpStatus !== 201) throw new Error(data.error || "无法开始上传");
      localStorage.setItem(memoryKey(file), data.token);
      chunkBytes = data.chunk_bytes;
      return data;
    });
  }

  function send(file, token, offset, retries) {
    bar.value = Math.floor((offset / file.size) * 100);
    say("正在上传 " + bar.value + "%");
    if (offset >= file.size) return finish(file, token);
    var chunk = file.slice(offset, offset + chunkBytes);
    return call("PUT", uploadUrl(token, "?offset=" + offset), chunk, "application/octet-stream")
      .then(function (data) {
        if (data.httpStatus === 200) return send(file, token, data.received, 0);
        if (data.httpStatus === 409) return send(file, token, data.received, retries);
        throw new Error(data.error || "上传失败");
      }, function () {
        // The connection dropped: wait, ask the shop where it is, go on from there.
        if (retries >= MAX_RETRIES) throw new Error("网络中断，请稍后重新选择同一个文件继续");
        say("网络中断，" + RETRY_MS / 1000 + " 秒后重试……");
        return new Promise(function (done) { setTimeout(done, RETRY_MS); }).then(function () {
          return call("GET", uploadUrl(token)).then(function (data) {
            return send(file, token, data.received, retries + 1);
          });
        });
      });
  }

  function finish(file, token) {
    say("正在检查文件……");
    return call("POST", uploadUrl(token, "/finish")).then(function (data) {
      localStorage.removeItem(memoryKey(file));
      if (data.httpStatus !== 201) throw new Error(data.error || "文件无法使用");
      bar.value = 100;
      say("上传完成，正在转码……");
      setTimeout(function () { window.location.reload(); }, 800);
    });
  }

  input.addEventListener("change", function () {
    var file = input.files[0];
    if (!file) return;
    input.disabled = true;
    bar.hidden = false;
    begin(file)
      .then(function (started) { return send(file, started.token, started.received, 0); })
      .catch(function (error) { say(error.message, true); })
      .then(function () { input.disabled = false; });
  });

  // Processing happens in the background worker: follow it until every row has settled.
  var rows = card.querySelectorAll("[data-media-row]");
  function follow() {
    var waiting = Array.prototype.filter.call(rows, function (row) {
      return row.dataset.status === "queued" || row.dataset.status === "processing";
    });
    if (!waiting.length) return;
    Promise.all(waiting.map(function (row) {
      return fetch(row.dataset.statusUrl, { credentials: "same-origin" })
        .then(function (answer) { return answer.json(); })
        .then(function (data) {
          if (data.status !== row.dataset.status && (data.status === "ready" || data.status === "failed")) {
            window.location.reload();
          }
          row.dataset.status = data.status;
          row.querySelector("[data-media-status]").textContent =
            data.label + (data.status === "processing" ? " " + data.progress + "%" : "");
        });
    })).catch(function () {}).then(function () { setTimeout(follow, 2000); });
  }
  follow();
})();
