// LTI Dynamic Registration 1.0 §3.6: tell the platform the registration window can close.
(function () {
  "use strict";
  function close() {
    var target = window.opener || window.parent;
    if (target && target !== window) {
      target.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
    } else {
      window.close();
    }
  }
  document.querySelectorAll("[data-lti-close]").forEach(function (button) {
    button.addEventListener("click", close);
  });
})();
