/* Shared by every tool page (templates/base.html).

   1. The frame's height for the platform: LTI Client Side postMessages, "lti.frameResize", sent to the
      parent on load and whenever the page's size changes, so a long quiz is not a second scrollbar.
   2. Work kept in the browser until the server has acknowledged it (window.LtiTool): a launch that ends
      (LTI_LAUNCH_IDLE_SECONDS, docs/security.md "Launch ids") or a dropped connection loses nothing; the
      page opened again with a fresh launch sends what was kept (templates/quizzes/attempt.html,
      templates/flashcards/review.html).
*/
(function () {
  "use strict";

  var lastHeight = 0;
  function frameResize() {
    if (window.parent === window || !document.body) return;
    // The body's own height, not the document's: inside a frame the document is at least the frame's
    // height, so it could never shrink.
    var style = window.getComputedStyle(document.body);
    var height = Math.ceil(document.body.getBoundingClientRect().height +
      parseFloat(style.marginTop || "0") + parseFloat(style.marginBottom || "0"));
    if (height === lastHeight) return;
    lastHeight = height;
    // No secret in it, and the platform's origin is not known to the page: any parent may read a height.
    window.parent.postMessage({ subject: "lti.frameResize", height: height }, "*");
  }
  function watchSize() {
    frameResize();
    if (window.ResizeObserver) {
      new ResizeObserver(frameResize).observe(document.body);
    } else {
      window.addEventListener("resize", frameResize);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watchSize);
  } else {
    watchSize();
  }
  window.addEventListener("load", frameResize);

  // localStorage, or memory where the browser refuses it (then work survives a lost connection, not a reload).
  var memory = {};
  var store = (function () {
    try {
      var probe = "lti-tool-probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null;
    }
  })();
  var keep = {
    get: function (key) { return store ? store.getItem(key) : (key in memory ? memory[key] : null); },
    set: function (key, value) {
      try { if (store) { store.setItem(key, value); return; } } catch (e) { /* full: keep it in memory */ }
      memory[key] = value;
    },
    remove: function (key) { if (store) store.removeItem(key); delete memory[key]; },
    keys: function (prefix) {
      var out = [], i, key;
      if (store) {
        for (i = 0; i < store.length; i += 1) {
          key = store.key(i);
          if (key && key.indexOf(prefix) === 0) out.push(key);
        }
      }
      Object.keys(memory).forEach(function (k) { if (k.indexOf(prefix) === 0 && out.indexOf(k) < 0) out.push(k); });
      return out.sort();
    },
    durable: !!store
  };

  /* A request from a script: resolves (never rejects) with {ok, status, data}; data always has a `code`
     and words in `message` when the request failed, whatever came back (or nothing, offline). */
  function send(url, options) {
    var headers = { "Accept": "application/json", "X-LTI-Launch": options.launch };
    var body = options.body;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(options.form).toString();
    }
    return fetch(url, { method: "POST", headers: headers, body: body, credentials: "omit", cache: "no-store" })
      .then(function (response) {
        return response.json().then(function (data) {
          return { ok: response.ok, status: response.status, data: data || {} };
        }, function () {
          return {
            ok: false, status: response.status,
            data: { code: "unreadable", message: words("unreadable", "The server did not answer as expected (HTTP {status}).").replace("{status}", String(response.status)) }
          };
        });
      }, function () {
        return { ok: false, status: 0, data: { code: "offline", message: words("offline", "No connection to the server.") } };
      });
  }
  // The page's language: templates/base.html writes these words on <body data-words-*> (docs/translation.md).
  function words(key, english) {
    var el = document.body, value = el && el.dataset ? el.dataset["words" + key.charAt(0).toUpperCase() + key.slice(1)] : "";
    return value || english;
  }

  // Worth trying again by itself: no connection, or the server (or a proxy) failing for now.
  function retryable(result) { return result.status === 0 || result.status >= 500 || result.status === 429; }
  // 1 s, 2 s, 4 s ... at most 30 s between tries.
  function backoff(tries) { return Math.min(30000, 1000 * Math.pow(2, Math.max(0, tries - 1))); }
  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  window.LtiTool = {
    keep: keep, send: send, retryable: retryable, backoff: backoff, newId: newId, frameResize: frameResize
  };
})();
