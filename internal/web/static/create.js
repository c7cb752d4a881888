// Live task page: follows the task's event stream and updates step
// statuses and logs in place. Without JavaScript the page still works
// (Refresh link). Announcements go through the aria-live status line.
(function () {
  "use strict";
  var root = document.getElementById("task");
  if (!root || root.getAttribute("data-running") !== "true" || !window.EventSource) {
    return;
  }
  var refresh = root.querySelector("[data-refresh-link]");
  if (refresh) {
    refresh.hidden = true;
  }
  var status = root.querySelector("[data-task-status]");
  var url = root.getAttribute("data-stream") + "?after=" + encodeURIComponent(root.getAttribute("data-after") || "0");
  var es = new EventSource(url);
  function step(id) {
    return id ? root.querySelector('[data-step="' + CSS.escape(id) + '"]') : null;
  }
  function setStatus(el, s) {
    if (!el) { return; }
    el.textContent = s;
    el.className = "task-status status-" + s;
  }
  function onEvent(e) {
    var ev;
    try { ev = JSON.parse(e.data); } catch (err) { return; }
    var body = ev.body || {};
    var li = step(body.stepId);
    if (li) {
      var log = li.querySelector("[data-step-log]");
      if (log) {
        log.textContent += new Date(ev.createdAt).toISOString().slice(11, 19) + " " + body.message + "\n";
      }
      if (body.status) {
        setStatus(li.querySelector("[data-step-status]"), body.status);
        var d = li.querySelector("details");
        if (d && (body.status === "processing" || body.status === "failed")) { d.open = true; }
      }
    }
    if (ev.type === "completion" || ev.type === "cancelled") {
      setStatus(status, body.status || "cancelled");
      es.close();
      // Show the result (links, retry) rendered by the server.
      window.setTimeout(function () { window.location.reload(); }, 800);
    } else if (status && status.textContent === "open") {
      setStatus(status, "processing");
    }
  }
  ["log", "completion", "cancelled", "recovered"].forEach(function (t) { es.addEventListener(t, onEvent); });
  es.onerror = function () {
    if (refresh) { refresh.hidden = false; }
  };
})();
