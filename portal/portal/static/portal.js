// Small improvements on pages that work without JavaScript.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');

  // The idle warning: shown shortly before a signed-in session ends; "Stay signed in" sends a
  // request, which restarts the session's clock on the server.
  var idle = document.querySelector('meta[name="cvms-idle"]');
  var box = document.getElementById("idle-warning");
  if (idle && box) {
    var timeout = parseInt(idle.getAttribute("content"), 10) * 1000;
    var warning = parseInt(idle.getAttribute("data-warning"), 10) * 1000;
    var timer = null;
    var schedule = function () {
      clearTimeout(timer);
      box.hidden = true;
      timer = setTimeout(function () {
        box.hidden = false;
        document.getElementById("idle-stay").focus();
        timer = setTimeout(function () { window.location.reload(); }, warning);
      }, Math.max(0, timeout - warning));
    };
    document.getElementById("idle-stay").addEventListener("click", function () {
      fetch("/session/keep-alive", {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": csrf ? csrf.getAttribute("content") : "" }
      }).then(schedule);
    });
    schedule();
  }

  // Focus the error summary so a screen reader announces it.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
