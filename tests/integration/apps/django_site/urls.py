"""Every path goes to one view that answers like the other test apps."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import re_path

from antechamber.middleware import django as waiting_room
from tests.integration.apps.common import GREETING, PROBE_HOST, probe, record


def anything(request: HttpRequest) -> HttpResponse:
    if request.get_host() == PROBE_HOST:
        return HttpResponse(
            json.dumps(probe(waiting_room._handle(), request.GET["room"])), content_type="application/json"
        )
    query = request.META.get("QUERY_STRING", "")
    target = request.path + (f"?{query}" if query else "")
    answer = record(request.method or "GET", target, request.body)
    if target == "/" and request.headers.get("accept") == "*/*":
        return HttpResponse(GREETING, content_type="text/plain")
    response = JsonResponse(answer)
    response.set_cookie("app_session", "abc", path="/")
    if request.path == "/logout":
        response.headers["Cf-Waiting-Room-Command"] = "revoke"
    return response


urlpatterns = [re_path(r"^.*$", anything)]
