/* The browser's time zone, for pages whose launch carried none (lms_tool/lti/timezones.py, docs/assessment.md).

   A page that showed times in the server's default zone marks them <time data-zone-source="default">. This
   script reports the browser's IANA zone once (POST lti:timezone, with the launch id), so the next pages are
   drawn in it, and rewrites those times now in the browser's zone, naming it. Without scripts the page keeps
   the server's zone, named: never an unnamed time. */
(function () {
  "use strict";
  function run() {
    var marker = document.querySelector("[data-timezone-url]");
    var stale = document.querySelectorAll('time[data-zone-source="default"]');
    if (!marker || !window.Intl || !Intl.DateTimeFormat) return;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone || marker.dataset.zoneSource !== "default") return;
    if (window.LtiTool) {
      window.LtiTool.send(marker.dataset.timezoneUrl, { launch: marker.dataset.launch, form: { zone: zone } });
    }
    // In the page's language (<html lang>, docs/translation.md), not the browser's.
    var format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZone: zone
    });
    Array.prototype.forEach.call(stale, function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      el.textContent = format.format(when) + " (" + zone + ")";
      el.dataset.zoneSource = "browser";
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", run); } else { run(); }
})();
