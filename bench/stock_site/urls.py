"""pylti1p3's documented Django views: OIDC login and launch; and, for bench/burst.py, a plain form POST
(``answer/``) that finds the launch again with ``DjangoMessageLaunch.from_cache`` and stores one row."""

import json
import os

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from pylti1p3.contrib.django import DjangoCacheDataStorage, DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.tool_config import ToolConfDict

_conf = json.loads(os.environ["STOCK_LTI_CONF"])
TOOL_CONF = ToolConfDict(_conf["issuers"])
for _iss in _conf["issuers"]:
    TOOL_CONF.set_private_key(_iss, _conf["private_key"])
    TOOL_CONF.set_public_key(_iss, _conf["public_key"])
KEY_CACHING = os.environ.get("STOCK_KEY_CACHING") == "1"


@csrf_exempt
def login(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    return DjangoOIDCLogin(request, TOOL_CONF).redirect(params["target_link_uri"])


@csrf_exempt
def launch(request: HttpRequest) -> HttpResponse:
    message_launch = DjangoMessageLaunch(request, TOOL_CONF)
    if KEY_CACHING:
        message_launch.set_public_key_caching(DjangoCacheDataStorage(cache_name="default"), cache_lifetime=7200)
    data = message_launch.get_launch_data()
    return HttpResponse(f"launched {message_launch.get_launch_id()} for {data.get('sub')}", content_type="text/plain")


@csrf_exempt
def answer(request: HttpRequest) -> HttpResponse:
    """A learner's form POST stored as it came: the launch found again from the session (pylti1p3's
    documented ``from_cache``), one INSERT. No grading, no outbox, no passback: the baseline's floor."""
    if request.method != "POST":
        return HttpResponse("POST only", status=405)
    message_launch = DjangoMessageLaunch.from_cache(request.POST["launch_id"], request, TOOL_CONF)
    data = message_launch.get_launch_data()
    body = json.dumps({k: request.POST.getlist(k) for k in request.POST if k != "launch_id"})
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO stock_answer (sub, kind, body, created_at) VALUES (%s, %s, %s, now())",
            [data.get("sub"), request.POST.get("kind", "answer"), body],
        )
    return HttpResponse("stored", content_type="text/plain")


urlpatterns = [path("lti/login/", login), path("lti/launch/", launch), path("answer/", answer)]
