"""The two small pages of a cookie-less login and launch (1EdTech LTI Client Side postMessages,
Platform Storage, and its OIDC implementation guide).

- Login: the page stores the state's secret in the platform (``lti.put_data``, after checking
  ``lti.capabilities``) and then goes on to the platform's authorization endpoint. When the
  platform offers no storage and this browser keeps no cookie for the tool here, it offers to open
  the tool in a new window instead (where the tool is first-party).
- Launch: the page reads the secret back (``lti.get_data``) and posts it, with the id_token and
  state, to ``/lti/launch/complete/``, which validates the launch exactly as the cookie flow does.

The scripts live in ``static/lti/platform_storage.js``; these functions only hand them their
settings (``json_script``, so nothing is interpolated into JavaScript).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from . import oidc


def login_page(
    request: HttpRequest, redirect: oidc.LoginRedirect, *, params: dict[str, Any], login_url: str
) -> HttpResponse:
    """Store the state's secret in the platform (or this window), then continue to the platform."""
    plain = {k: v for k, v in params.items() if k not in {"lti_storage_target", "tool_window"}}
    config = {
        "mode": "login",
        "storage": redirect.storage,
        "target": redirect.storage_target,
        "key": redirect.storage_key,
        "value": redirect.cookie_value,
        "next": redirect.url,
        "probeCookie": oidc.PROBE_COOKIE,
    }
    return render(
        request,
        "lti/login_storage.html",
        {
            "config": config,
            "next_url": redirect.url,
            # In a window of its own the tool is first-party: its sessionStorage (and cookies) work.
            "new_window_url": login_url + "?" + urlencode({**plain, "tool_window": "1"}),
            "plain_url": login_url + "?" + urlencode(plain),
        },
    )


def launch_page(request: HttpRequest, stored: dict[str, Any], *, state: str) -> HttpResponse:
    """Read the state's secret back and post it to the completion endpoint."""
    config = {
        "mode": "launch",
        "storage": stored["storage"],
        "target": stored.get("storage_target", ""),
        "key": oidc.COOKIE_PREFIX + state,
    }
    return render(
        request,
        "lti/launch_storage.html",
        {
            "config": config,
            "action": reverse("lti:launch_complete"),
            "id_token": request.POST.get("id_token", ""),
            "state": state,
        },
    )
