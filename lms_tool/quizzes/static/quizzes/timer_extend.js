/* "Add N minutes" on the attempt page (WCAG 2.2.1 Timing Adjustable; docs/assessment.md, "Accommodations").

   The server decides (services/windows.py attempt_extend: allowed, at most 10 times, never past the close) and
   answers with the seconds left; the page's timer (templates/quizzes/attempt.html) hears a "timer:extended"
   event on #timer. Without scripts the form posts and the page comes back with the new time. */
(function () {
  "use strict";
  function run() {
    var form = document.getElementById("timer-extend"), timer = document.getElementById("timer");
    if (!form || !timer || !window.LtiTool) return;
    var button = form.querySelector("button"), left = document.getElementById("extend-left");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      button.disabled = true;
      window.LtiTool.send(form.action, { launch: form.dataset.launch, form: new FormData(form) }).then(function (result) {
        if (!result.ok) {
          left.textContent = result.data.message || form.dataset.failed;
          button.disabled = result.status !== 0 && !window.LtiTool.retryable(result);
          return;
        }
        var n = result.data.extensions_left;
        // The words come from the page in its language (data-left-one / data-left-other, "{n}" for the count).
        left.textContent = (n === 1 ? form.dataset.leftOne : form.dataset.leftOther).replace("{n}", String(n));
        button.disabled = n <= 0;
        timer.dispatchEvent(new CustomEvent("timer:extended", { detail: { seconds: result.data.seconds_left } }));
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", run); } else { run(); }
})();
