// Cookie-less LTI login and launch: 1EdTech LTI Client Side postMessages (lti.capabilities) and
// Platform Storage (lti.put_data / lti.get_data), following the "OIDC login with LTI client side
// postMessages" implementation guide. Settings come from the page (json_script "lti-storage-config"):
//   mode     "login": store the state's secret, then go to `next` (the platform's auth endpoint);
//            "launch": read it back and submit the #lti-complete form with it.
//   storage  "platform" (postMessages to the platform) or "window" (this top-level window's sessionStorage).
//   target   lti_storage_target from the login: "_parent" or a frame of the parent (Canvas:
//            "post_message_forwarding").
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("lti-storage-config").textContent);
  // Generous: a platform that answers does so at once; only one that never answers waits this long.
  var CAPABILITIES_TIMEOUT_MS = 3000;
  var DATA_TIMEOUT_MS = 5000;
  // A message that reaches a frame still loading (Canvas's post_message_forwarding frame, on a slow device) has
  // no listener and is lost: it is sent again at this interval until answered, with the same message_id, so
  // the first answer is taken and a repeat's answer ignored.
  var RESEND_MS = 500;

  function messageId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  // Post one message and wait for "<subject>.response" with the same message_id from that window.
  // Target origin "*": Canvas does not accept the OIDC auth origin yet (canvas-lms
  // doc/api/lti_dev_key_config.md); the secret is useless outside this browser, and replies are
  // only taken from the window asked (event.source). The server checks the secret itself.
  function ask(win, message, timeoutMs) {
    return new Promise(function (resolve, reject) {
      var id = messageId();
      var timer = window.setTimeout(function () {
        done();
        reject(new Error("no answer to " + message.subject));
      }, timeoutMs);
      var resend = window.setInterval(send, RESEND_MS);
      function done() {
        window.clearTimeout(timer);
        window.clearInterval(resend);
        window.removeEventListener("message", onMessage);
      }
      function send() {
        try {
          win.postMessage(message, "*");
        } catch (error) {
          done();
          reject(error);
        }
      }
      function onMessage(event) {
        var data = event.data;
        if (event.source !== win || !data || typeof data !== "object") return;
        if (data.message_id !== id || data.subject !== message.subject + ".response") return;
        done();
        if (data.error) {
          reject(new Error(message.subject + ": " + (data.error.code || "") + " " + (data.error.message || "")));
        } else {
          resolve(data);
        }
      }
      window.addEventListener("message", onMessage);
      message.message_id = id;
      send();
    });
  }

  function platformWindow() {
    if (window.parent && window.parent !== window) return window.parent;
    return window.opener || null;
  }

  function frameOf(root, name) {
    if (!name || name === "_parent") return root;
    try {
      return root.frames[name] || null;
    } catch (error) {
      return null;
    }
  }

  // Ask lti.capabilities first: the Canvas mobile apps send lti_storage_target but answer nothing.
  function platformStorage() {
    var root = platformWindow();
    if (!root) return Promise.reject(new Error("no platform window"));
    return ask(root, { subject: "lti.capabilities" }, CAPABILITIES_TIMEOUT_MS).then(function (answer) {
      var supported = Array.isArray(answer.supported_messages) ? answer.supported_messages : [];
      function windowFor(subject) {
        var entry = supported.filter(function (m) { return m && m.subject === subject; })[0];
        if (!entry) throw new Error(subject + " is not supported");
        var win = frameOf(root, entry.frame || config.target);
        if (!win) throw new Error("no frame named " + (entry.frame || config.target));
        return win;
      }
      var putTo = windowFor("lti.put_data");
      var getFrom = windowFor("lti.get_data");
      return {
        put: function (key, value) {
          return ask(putTo, { subject: "lti.put_data", key: key, value: value }, DATA_TIMEOUT_MS);
        },
        get: function (key) {
          return ask(getFrom, { subject: "lti.get_data", key: key }, DATA_TIMEOUT_MS).then(function (r) {
            return r.value;
          });
        },
      };
    });
  }

  // A top-level window the tool opened itself: its own sessionStorage is first-party.
  function windowStorage() {
    return new Promise(function (resolve) {
      var store = window.sessionStorage;
      resolve({
        put: function (key, value) {
          store.setItem(key, value);
          return Promise.resolve();
        },
        get: function (key) {
          var value = store.getItem(key);
          store.removeItem(key);
          return Promise.resolve(value);
        },
      });
    });
  }

  function storage() {
    return config.storage === "window" ? windowStorage() : platformStorage();
  }

  function cookiesKept() {
    return document.cookie.split(";").some(function (c) {
      return c.trim().indexOf(config.probeCookie + "=") === 0;
    });
  }

  function showFallback(reason) {
    document.getElementById("lti-status").textContent = "";
    var section = document.getElementById("lti-fallback");
    section.hidden = false;
    section.setAttribute("data-reason", String(reason && reason.message ? reason.message : reason));
    document.getElementById("fallback-title").focus();
  }

  function login() {
    storage()
      .then(function (store) { return store.put(config.key, config.value); })
      .then(
        function () { window.location.replace(config.next); },
        function (reason) {
          // No storage: the state cookie may still work (e.g. a partitioned cookie); else a new window.
          if (cookiesKept()) window.location.replace(config.next);
          else showFallback(reason);
        }
      );
  }

  function launch() {
    var form = document.getElementById("lti-complete");
    storage()
      .then(function (store) { return store.get(config.key); })
      .then(
        function (value) { return typeof value === "string" ? value : ""; },
        function () { return ""; } // the server then tries the cookie and explains what failed
      )
      .then(function (value) {
        form.elements.lti_storage_value.value = value;
        form.submit();
      });
  }

  if (config.mode === "login") login();
  else launch();
})();
