// The course page's 已学完 marks: the page is shared by every reader who owns the course, so
// it asks which audio and video lessons this reader has finished (app/media/views.py).
(function () {
  "use strict";

  var toc = document.querySelector("[data-course-progress]");
  if (!toc) return;
  fetch(toc.dataset.courseProgress, { credentials: "same-origin" })
    .then(function (answer) { return answer.ok ? answer.json() : null; })
    .then(function (found) {
      if (!found || !found.lessons) return;
      found.finished.forEach(function (sectionId) {
        var mark = toc.querySelector('[data-section="' + sectionId + '"] [data-done]');
        if (mark) mark.hidden = false;
      });
      var summary = toc.querySelector("[data-course-summary]");
      summary.textContent = "音视频课时已学完 " + found.finished.length + " / " + found.lessons;
      summary.hidden = false;
    })
    .catch(function () {});
})();
