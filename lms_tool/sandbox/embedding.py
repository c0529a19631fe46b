"""Sandbox platform: a course page that embeds the tool in an iframe, with LTI Platform Storage.

GET /course/<context_id>/embed?user=<user_id>&storage=<mode>
  forwarding  like Canvas on the web: ``lti_storage_target=post_message_forwarding``, a hidden frame
              of that name stores the data, the page answers ``lti.capabilities`` naming it
  parent      ``lti_storage_target=_parent``: the page itself answers and stores
  silent      like the Canvas mobile apps: sends ``lti_storage_target`` but answers no postMessage
  off         sends no ``lti_storage_target`` (the plain cookie flow)
GET /post_message_forwarding   the storage frame (1EdTech Platform Storage: data kept per tool origin)

The browser tests load this page on 127.0.0.1 while the tool runs on localhost, so the tool is a
cross-site iframe, as in a real platform.
"""

from __future__ import annotations

import html
import json

from .platform import LaunchSpec, Platform, login_query
from .web import Req, json_response, route

MODES = {"forwarding": "post_message_forwarding", "parent": "_parent", "silent": "post_message_forwarding", "off": ""}
Answer = tuple[int, dict[str, str], bytes]

# Answers storage messages for the tool frames, keeping data per sender origin (Platform Storage §3).
_STORAGE_JS = """
var store = {};
function answerStorage(event, reply) {
  var d = event.data, key = event.origin + " " + d.key;
  if (d.subject === "lti.put_data") {
    if (d.value === null) { delete store[key]; } else { store[key] = String(d.value); }
    reply({key: d.key, value: d.value});
  } else if (d.subject === "lti.get_data") {
    reply({key: d.key, value: Object.prototype.hasOwnProperty.call(store, key) ? store[key] : null});
  }
}
function replier(event) {
  return function (fields) {
    var answer = {message_id: event.data.message_id, subject: event.data.subject + ".response"};
    for (var k in fields) { answer[k] = fields[k]; }
    event.source.postMessage(answer, event.origin);
  };
}
"""


def _page(title: str, body: str, script: str) -> Answer:
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body>{body}<script>{script}</script></body></html>"
    )
    return 200, {"Content-Type": "text/html; charset=utf-8"}, document.encode()


def storage_frames(
    login: str, mode: str, forwarding_src: str = "post_message_forwarding", *, forwarding_first: bool = False
) -> tuple[str, str]:
    """The tool's iframe (``id="tool"``) launched from ``login`` with Platform Storage in ``mode``, and the
    page script that answers the tool's storage messages: (frames HTML, script).

    ``forwarding_first``: the tool's frame loads only once the storage frame has, so a quick tool never
    posts ``lti.put_data`` to a storage frame that is still ``about:blank`` (the message would be lost)."""
    if MODES[mode]:
        login = login_query(login, lti_storage_target=MODES[mode])
    source = "data-src" if forwarding_first and mode == "forwarding" else "src"
    frames = (
        f'<iframe id="tool" name="tool" title="Tool" {source}="{html.escape(login)}" width="900" height="600"></iframe>'
    )
    if mode == "forwarding":
        onload = " onload=\"var t = document.getElementById('tool'); if (t.dataset.src) t.src = t.dataset.src;\""
        frames += (
            f'<iframe name="post_message_forwarding" src="{html.escape(forwarding_src)}"'
            f"{onload if forwarding_first else ''} hidden></iframe>"
        )
    frame = MODES[mode] if mode == "forwarding" else None
    supported = [{"subject": "lti.capabilities"}] + [
        {"subject": s, **({"frame": frame} if frame else {})} for s in ("lti.put_data", "lti.get_data")
    ]
    script = (
        _STORAGE_JS
        + f"""
var mode = {json.dumps(mode)}, supported = {json.dumps(supported)};
window.addEventListener("message", function (event) {{
  var d = event.data;
  if (mode === "silent" || !d || typeof d !== "object" || typeof d.subject !== "string") return;
  if (d.subject === "lti.capabilities") {{ replier(event)({{supported_messages: supported}}); }}
  else if (mode === "parent") {{ answerStorage(event, replier(event)); }}
}});
"""
    )
    return frames, script


@route("GET", r"/course/(?P<context_id>[^/]+)/embed")
def course_page(platform: Platform, req: Req) -> Answer:
    mode = req.query.get("storage", "forwarding")
    course = platform.courses.get(req.match.group("context_id"))
    person = course.members.get(req.query.get("user", "")) if course else None
    if mode not in MODES or course is None or person is None:
        return json_response(404, {"error": "unknown course, user or storage mode"})
    frames, script = storage_frames(platform.login_initiation_url(LaunchSpec(person, course)), mode)
    return _page(f"{course.title} (test platform)", f"<h1>{html.escape(course.title)}</h1>{frames}", script)


@route("GET", r"/course/[^/]+/post_message_forwarding")
def forwarding_frame(platform: Platform, req: Req) -> Answer:
    script = (
        _STORAGE_JS
        + """
window.addEventListener("message", function (event) {
  var d = event.data;
  if (!d || typeof d !== "object" || typeof d.subject !== "string") return;
  answerStorage(event, replier(event));
});
"""
    )
    return _page("post_message_forwarding", "", script)
