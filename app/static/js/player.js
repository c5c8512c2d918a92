// One player for audio and video lessons (templates/_player.html): HLS through hls.js where
// the browser has Media Source Extensions (desktop Chromium, Android's WebView), the
// browser's own HLS otherwise (WeChat on iOS, Safari). It resumes where the reader left off
// on any device, offers 0.75×–2×, and reports how far the reader got every few seconds.
// Audio goes on in a small player docked at the bottom of the other pages the reader opens
// (js/mini-player.js docks it; this file plays it there too).
(function () {
  "use strict";

  var NOW_PLAYING = "shop-now-playing"; // sessionStorage: the audio to dock on the next page

  var SPEEDS = [0.75, 1, 1.25, 1.5, 2];
  var REPORT_EVERY_MS = 10000;
  var RESUME_FROM_MS = 5000; // nearer the start than this, starting over is no loss

  function clock(ms) {
    var s = Math.floor(ms / 1000);
    var m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }

  function attach(figure, media) {
    var src = figure.dataset.src;
    if (window.Hls && window.Hls.isSupported()) {
      // No worker: the shop's CSP runs scripts from its own files only, never a blob:.
      var hls = new window.Hls({ enableWorker: false });
      var recovered = false;
      hls.on(window.Hls.Events.FRAG_LOADED, function () { recovered = false; });
      hls.on(window.Hls.Events.ERROR, function (_event, data) {
        if (!data.fatal) return;
        if (!recovered) {
          // Signed addresses run out after a long pause: ask for the playlists again (once
          // until a segment loads again).
          recovered = true;
          var at = media.currentTime;
          hls.loadSource(src);
          media.addEventListener("loadedmetadata", function once() {
            media.removeEventListener("loadedmetadata", once);
            media.currentTime = at;
          });
          return;
        }
        figure.classList.add("is-broken");
      });
      hls.loadSource(src);
      hls.attachMedia(media);
      return true;
    }
    if (media.canPlayType("application/vnd.apple.mpegurl")) {
      media.src = src;
      return true;
    }
    return false;
  }

  function resume(figure, media, state) {
    // Docked, the page before may have left a later point than its last report reached.
    var at = Math.max(state.position_ms, Number(figure.dataset.position || 0));
    if (state.access !== "full" || state.completed || at < RESUME_FROM_MS) return;
    if (state.duration_ms - at < RESUME_FROM_MS) return;
    media.addEventListener("loadedmetadata", function once() {
      media.removeEventListener("loadedmetadata", once);
      media.currentTime = at / 1000;
    });
    var note = figure.querySelector("[data-resume]");
    if (note) {
      note.textContent = "上次听到 " + clock(at) + "，将从这里继续";
      note.hidden = false;
    }
  }

  function speeds(figure, media) {
    var box = figure.querySelector("[data-speeds]");
    if (!box) return;
    SPEEDS.forEach(function (rate) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "player-speed";
      button.textContent = rate + "×";
      button.setAttribute("aria-pressed", String(rate === 1));
      button.addEventListener("click", function () {
        media.playbackRate = rate;
        box.querySelectorAll("button").forEach(function (other) {
          other.setAttribute("aria-pressed", String(other === button));
        });
      });
      box.appendChild(button);
    });
    box.hidden = false;
  }

  // Reports: where the reader is and how much they played since the last report.
  function track(figure, media, state) {
    if (!state.signed_in || state.access !== "full") return;
    var played = 0;
    var last = null;
    var sentAt = Date.now();

    function send(ended) {
      var body = JSON.stringify({
        position_ms: Math.round(media.currentTime * 1000),
        played_ms: Math.round(played),
        ended: !!ended,
      });
      played = 0;
      sentAt = Date.now();
      fetch(figure.dataset.report, {
        method: "POST",
        credentials: "same-origin",
        keepalive: true,
        headers: { "Content-Type": "application/json", "X-CSRFToken": state.csrf_token },
        body: body,
      }).catch(function () {});
    }

    media.addEventListener("timeupdate", function () {
      var now = media.currentTime;
      // Only time that passed by playing counts (a seek jumps further than a tick).
      if (last !== null && now > last && now - last < 1.5 * media.playbackRate) {
        played += (now - last) * 1000;
      }
      last = now;
      if (Date.now() - sentAt >= REPORT_EVERY_MS) send(false);
    });
    media.addEventListener("seeking", function () { last = null; });
    media.addEventListener("pause", function () { if (!media.ended) send(false); });
    media.addEventListener("ended", function () { send(true); });
    window.addEventListener("pagehide", function () { if (!media.paused) send(false); });
  }

  // A moving mark with the reader's id over the picture: a recording of the screen says
  // whose account it came from.
  function watermark(figure, state) {
    var mark = figure.querySelector("[data-mark]");
    if (!mark || !state.watermark) return;
    mark.textContent = state.watermark;
    mark.hidden = false;
  }

  // A course may ask for a first viewing without skipping ahead: a seek past the furthest
  // point reached goes back there (the server keeps that point across devices).
  function noSeekAhead(figure, media, state) {
    if (!state.no_seek_ahead) return;
    var allowed = state.furthest_ms / 1000;
    var note = figure.querySelector("[data-preview]");
    media.addEventListener("timeupdate", function () {
      if (!media.seeking && media.currentTime > allowed && media.currentTime - allowed < 2) {
        allowed = media.currentTime;
      }
    });
    media.addEventListener("seeking", function () {
      if (media.currentTime > allowed + 1) {
        media.currentTime = allowed;
        if (note) {
          note.textContent = "首次播放不能快进，看完一遍后可以自由拖动";
          note.hidden = false;
        }
      }
    });
  }

  // Audio playing when the reader leaves the page is docked on the next one, from there.
  function remember(figure, media) {
    if (media.tagName !== "AUDIO") return;
    var href = figure.dataset.href || window.location.pathname;

    function save() {
      var entry = {
        media: figure.dataset.media,
        title: figure.dataset.title,
        href: href,
        src: figure.dataset.src,
        state: figure.dataset.state,
        report: figure.dataset.report,
        scripts: figure.dataset.scripts,
        position_ms: Math.round(media.currentTime * 1000),
        rate: media.playbackRate,
        playing: !media.paused && !media.ended,
      };
      try {
        sessionStorage.setItem(NOW_PLAYING, JSON.stringify(entry));
      } catch (_full) { /* private mode: no dock, nothing else lost */ }
    }
    media.addEventListener("play", save);
    media.addEventListener("pause", save);
    media.addEventListener("ended", function () { sessionStorage.removeItem(NOW_PLAYING); });
    window.addEventListener("pagehide", save);
  }

  function preview(figure, state) {
    var note = figure.querySelector("[data-preview]");
    if (note && state.access === "preview") {
      note.textContent = "试看前 " + clock(state.preview_ms) + "，购买后播放完整内容";
      note.hidden = false;
    }
  }

  function start(figure) {
    var media = figure.querySelector("video, audio");
    fetch(figure.dataset.state, { credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) throw new Error(String(answer.status));
        return answer.json();
      })
      .then(function (state) {
        if (!attach(figure, media)) {
          figure.classList.add("is-unsupported");
          return;
        }
        preview(figure, state);
        watermark(figure, state);
        resume(figure, media, state);
        noSeekAhead(figure, media, state);
        speeds(figure, media);
        track(figure, media, state);
        remember(figure, media);
        if (figure.dataset.rate) media.playbackRate = Number(figure.dataset.rate);
        if (figure.hasAttribute("data-autoplay")) {
          media.play().catch(function () { /* the browser wants a tap: the controls are there */ });
        }
        figure.classList.add("is-ready");
      })
      .catch(function () {
        figure.classList.add("is-unavailable");
      });
  }

  document.querySelectorAll("[data-player]").forEach(start);
})();
