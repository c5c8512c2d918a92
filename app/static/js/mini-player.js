// The docked player: audio that was playing when the reader left a lesson goes on at the
// bottom of the next page they open (js/player.js remembers it and plays it here). It loads
// the player and hls.js only when there is something to dock.
(function () {
  "use strict";

  var NOW_PLAYING = "shop-now-playing";
  var entry;
  try {
    entry = JSON.parse(sessionStorage.getItem(NOW_PLAYING) || "null");
  } catch (_broken) {
    entry = null;
  }
  if (!entry || !entry.playing || !entry.src) return;
  // The lesson's own page plays it in its own player.
  if (document.querySelector('[data-player][data-media="' + entry.media + '"]')) return;

  var dock = document.createElement("aside");
  dock.className = "mini-player";
  dock.setAttribute("aria-label", "正在播放");
  var title = document.createElement("a");
  title.className = "mini-player-title";
  title.href = entry.href;
  title.textContent = entry.title;
  var close = document.createElement("button");
  close.type = "button";
  close.className = "mini-player-close";
  close.setAttribute("aria-label", "关闭播放器");
  close.textContent = "×";
  var figure = document.createElement("figure");
  figure.className = "player player-audio player-mini";
  figure.setAttribute("data-player", "");
  figure.setAttribute("data-autoplay", "");
  ["media", "title", "href", "src", "state", "report", "scripts"].forEach(function (key) {
    figure.dataset[key] = entry[key] || "";
  });
  figure.dataset.position = entry.position_ms || 0;
  figure.dataset.rate = entry.rate || 1;
  figure.innerHTML = '<audio controls preload="metadata"></audio>' +
    '<p class="small muted player-note" data-resume hidden></p><p class="small player-note" data-preview hidden></p>';
  figure.querySelector("audio").setAttribute("aria-label", "音频：" + entry.title);
  dock.appendChild(title);
  dock.appendChild(close);
  dock.appendChild(figure);
  document.body.appendChild(dock);
  document.body.classList.add("has-mini-player");
  close.addEventListener("click", function () {
    figure.querySelector("audio").pause();
    sessionStorage.removeItem(NOW_PLAYING);
    dock.remove();
    document.body.classList.remove("has-mini-player");
  });

  // hls.js, then the player (which starts every [data-player] on the page, this one too).
  var scripts = (entry.scripts || "").split(" ").filter(Boolean);
  (function load(index) {
    if (index >= scripts.length) return;
    var script = document.createElement("script");
    script.src = scripts[index];
    script.onload = function () { load(index + 1); };
    document.body.appendChild(script);
  })(0);
})();
