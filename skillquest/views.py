"""Error pages: JSON for API paths, the site's own pages everywhere else."""

from __future__ import annotations

from django.shortcuts import render

from skillquest.api import is_api_path, json_error, server_error_json


def page_not_found(request, exception=None):
    if is_api_path(request.path):
        return json_error("Not found.", "not_found", 404)
    return render(request, "404.html", status=404)


def permission_denied(request, exception=None):
    if is_api_path(request.path):
        return json_error("You do not have permission to perform this action.", "permission_denied", 403)
    return render(request, "403.html", status=403)


def bad_request(request, exception=None):
    if is_api_path(request.path):
        return json_error("Bad request.", "bad_request", 400)
    return render(request, "400.html", status=400)


def server_error(request):
    if is_api_path(request.path):
        return server_error_json()
    return render(request, "500.html", status=500)
