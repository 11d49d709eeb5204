"""The real URLconf plus API views that fail, to test the error path end to end."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from skillquest.urls import urlpatterns as real_urlpatterns


@api_view(["GET"])
@permission_classes([AllowAny])
def boom(request):
    raise RuntimeError("unexpected")


@api_view(["POST"])
@permission_classes([AllowAny])
def boom_with_body(request):
    # A secret in a local variable of the failing frame, as a real view would hold `request.data`.
    data = {"user": {"password": request.data["password"]}, "refresh_token": request.data["refresh_token"]}
    raise RuntimeError(f"failed for {sorted(data)}")


urlpatterns = [path("api/v1/boom", boom), path("api/v1/boom-with-body", boom_with_body), *real_urlpatterns]
handler500 = "skillquest.views.server_error"
